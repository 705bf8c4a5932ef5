"""scripts/present: bad input is one clear line; a good start hands a real terminal to lookatme."""

import os
import shutil
import subprocess
import sys
import time

from ptyprocess import PtyProcess

from workshop.paths import ROOT
from workshop.rehearsal.terminal import plain

PRESENT = str(ROOT / "scripts" / "present")


def tool_dir(tmp_path, *names):
    """A PATH holding only these programs, to show the command without the others."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("bash", "cat", "cksum", "dirname", "basename", *names):
        os.symlink(shutil.which(name), folder / name)
    return str(folder)


def run_in_terminal(argv, cols=120, rows=40, env=None, until=None, timeout=20.0, keys=b""):
    """Run argv in a real pseudo-terminal of this size; return (exit status or None, plain screen text)."""
    child = PtyProcess.spawn(
        argv, cwd="/", env={**os.environ, "TERM": "xterm-256color", **(env or {})}, dimensions=(rows, cols)
    )
    output, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            output += child.read(65536)
        except EOFError:
            break
        if until and until in plain(output.decode("utf-8", "replace")):
            child.write(keys)
            until = None
    if child.isalive():
        child.terminate(force=True)
        return None, plain(output.decode("utf-8", "replace"))
    child.wait()
    return child.exitstatus, plain(output.decode("utf-8", "replace"))


def lines_of(text):
    return [line for line in text.splitlines() if line.strip()]


def test_missing_expect_is_one_line_with_the_install_command(tmp_path):
    status, text = run_in_terminal([PRESENT], env={"PATH": tool_dir(tmp_path)})
    assert status == 2
    assert lines_of(text) == [
        "present: the program `expect` is missing (lookatme types each box's command with it): "
        "run `sudo apt-get install -y expect`, then start the deck again."
    ]


def test_small_terminal_is_one_line():
    status, text = run_in_terminal([PRESENT], cols=100, rows=30)
    assert status == 2
    assert lines_of(text) == [
        "present: this terminal is 100x30; the deck needs at least 120x40: "
        "enlarge the window or make the font smaller, then try again."
    ]


def broken_deck(tmp_path):
    """slides.md with its first box's command taken out: a deck present refuses in one line."""
    broken = tmp_path / "slides.md"
    broken.write_text(
        (ROOT / "slides.md")
        .read_text()
        .replace("init_codeblock: false", "init_codeblock: true", 1)
        .replace("init_text: python docker_demo/server.py\n", "", 1)
    )
    return broken


def test_malformed_slide_is_one_line(tmp_path):
    broken = broken_deck(tmp_path)
    status, text = run_in_terminal([PRESENT, str(broken)])
    assert status == 2
    (line,) = lines_of(text)
    assert line.startswith("present: slides.md line ") and "(slide 2): a terminal-ex block without init_text" in line


def test_without_docker_the_deck_still_starts_after_a_one_line_note(tmp_path):
    path = tool_dir(tmp_path, "expect")
    # a machine where the workshop never installed an engine of its own (no engine.env)
    env = {"PATH": path, "WORKSHOP_MACHINE_HOME": str(tmp_path / "machine")}
    status, text = run_in_terminal([PRESENT], env=env, until="slide 1 /", keys=b"q")
    assert status == 0, text
    assert "note: Docker is not installed, so the live Docker boxes will fail" in text
    assert "Docker and Kubernetes, with everything running live" in text
    assert "Traceback" not in text


def test_a_broken_virtualenv_says_how_to_rebuild_it(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    listing = (ROOT / "requirements" / "workshop.txt").read_bytes()
    stamp = subprocess.run(["cksum"], input=listing, capture_output=True, check=True).stdout.decode()
    (venv / ".installed-workshop").write_text(stamp)  # it claims the pins, but lookatme is not there
    done = subprocess.run(
        [PRESENT], capture_output=True, text=True, timeout=60, env={**os.environ, "WORKSHOP_VENV": str(venv)}
    )
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"workshop: the virtualenv {venv} is broken") and f"rm -rf {venv}" in line


def test_the_deck_is_named_with_deck_as_every_command_names_it(tmp_path):
    """scripts/present takes --deck FILE like rehearse, record, catch-up and export-html (and the deck first,
    as a shorthand); two different decks at once is one line."""
    broken = broken_deck(tmp_path)
    status, text = run_in_terminal([PRESENT, "--deck", str(broken)])
    assert status == 2 and lines_of(text)[0].startswith("present: slides.md line "), text
    status, text = run_in_terminal([PRESENT, str(broken), "--deck", str(ROOT / "extras.md")])
    assert status == 2 and lines_of(text) == [
        f"present: two decks named ({broken} and --deck {ROOT / 'extras.md'}): name one"
    ], text
    for command in ("present", "rehearse", "record", "catch_up", "export_html"):
        shown = subprocess.run(
            [sys.executable, "-m", f"workshop.commands.{command}", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert "--deck FILE" in shown.stdout, (command, shown.stdout)
