"""A failure is one line for the user and its whole story for whoever fixes it: the command that failed,
its exit status and output, and the chain of causes in .workshop/logs/last-error.txt, and on stderr too
with WORKSHOP_DEBUG=1."""

import subprocess
import sys

import pytest

from workshop.paths import ROOT

FAILING = """
from workshop import cli
from workshop.machine import host

def main(argv):
    host.run(["sh", "-c", "echo the-output; echo the-complaint >&2; exit 7"], what="the demo step", fix="do the fix")

cli.run(main, "demo", ["--flag", "value"])
"""


def run_failing(tmp_path, **env):
    return subprocess.run(
        [sys.executable, "-c", FAILING],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "WORKSHOP_STATE": str(tmp_path / "state"), **env},
    )


def test_a_failure_is_one_line_and_its_story_is_kept(tmp_path):
    done = run_failing(tmp_path)
    assert done.returncode == 2
    assert done.stderr == "demo: `the demo step` failed: the-complaint; do the fix\n"
    story = (tmp_path / "state" / "logs" / "last-error.txt").read_text()
    assert "demo --flag value" in story.splitlines()[0]
    for part in (
        "command: sh -c 'echo the-output; echo the-complaint >&2; exit 7'",
        "exit status: 7",
        "the-output",
        "the-complaint",
        "Traceback (most recent call last)",
    ):
        assert part in story, (part, story)


@pytest.mark.parametrize("debug, shown", [("1", True), ("0", False)])
def test_workshop_debug_shows_the_story_on_stderr(tmp_path, debug, shown):
    done = run_failing(tmp_path, WORKSHOP_DEBUG=debug)
    assert done.stderr.splitlines()[0] == "demo: `the demo step` failed: the-complaint; do the fix"
    assert ("exit status: 7" in done.stderr) is shown
    assert ("Traceback" in done.stderr) is shown


def test_a_missing_program_keeps_its_cause(tmp_path):
    program = FAILING.replace(
        '["sh", "-c", "echo the-output; echo the-complaint >&2; exit 7"]', '["no-such-program-here"]'
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "WORKSHOP_STATE": str(tmp_path / "state")},
    )
    assert done.stderr == "demo: no-such-program-here is not installed; do the fix\n"
    story = (tmp_path / "state" / "logs" / "last-error.txt").read_text()
    assert "FileNotFoundError" in story and "command: no-such-program-here" in story, story


def test_the_docs_table_names_every_exit_status_the_code_names():
    from workshop import cli

    named = {name: getattr(cli, name) for name in ("OK", "FAILED", "PROBLEM", "TEACHERS", "INTERRUPTED")}
    text = (ROOT / "docs" / "development.md").read_text()
    rows = dict(
        (cells[1], int(cells[0]))
        for cells in (
            [c.strip() for c in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("| ")
        )
        if len(cells) == 3 and cells[0].isdigit()
    )
    assert rows == named
    shim = (ROOT / "scripts" / "shell-bin" / "kubectl").read_text()
    assert f"exit {cli.TEACHERS}\n" in shim  # the one status bash gives by number


def test_every_workshop_variable_is_in_the_docs_table():
    import re

    used = set()
    for folder in ("workshop", "provision", "scripts", ".ci", "tests"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix not in (".pyc", ".js", ".png", ".cast", ".sum", ".mod"):
                used |= set(re.findall(r"\bWORKSHOP_[A-Z][A-Z_]*[A-Z]\b", path.read_text(errors="replace")))
    used.discard("WORKSHOP_CASTS")  # a JavaScript global of the HTML export, not an environment variable
    documented = set(re.findall(r"^\| `(WORKSHOP_[A-Z_]+)` \|", (ROOT / "docs" / "development.md").read_text(), re.M))
    assert used - documented == set(), sorted(used - documented)
    assert documented - used == set(), sorted(documented - used)
