"""Replay mode (scripts/present --replay): each box plays its recording, with no Docker and no kubectl.

The replay shell is driven exactly as a box starts it (scripts/workshop-shell in a pseudo-terminal),
with WORKSHOP_REPLAY set and a PATH that holds neither docker nor kubectl.
"""

import json
import os
import shutil
import sys
import time

import pytest

from conftest import need, run_command
from support.render import render_deck
from test_present import run_in_terminal
from workshop.commands import record
from workshop.commands.options import replay_folder
from workshop.deck import reader as deck
from workshop.deck.geometry import box_columns
from workshop.machine import engines
from workshop.names import PROMPT
from workshop.paths import DECK, DECKS, EXTRAS, ROOT, recordings_for
from workshop.rehearsal import recordings
from workshop.rehearsal.recordings import cast_name
from workshop.rehearsal.replay_shell import IDLE_LIMIT, ONLY_LECTURE
from workshop.rehearsal.terminal import ShellSession

SHELL = str(ROOT / "scripts" / "workshop-shell")
RECORDINGS = ROOT / "recordings"
DECK_MODEL = deck.read(DECK)
CURL = next(b for b in DECK_MODEL.boxes() if b.typed == "curl -s localhost:3000")  # slide 2 box 2
SERVER = next(b for b in DECK_MODEL.boxes() if b.typed == "python docker_demo/server.py")  # slide 2 box 1


@pytest.fixture
def bin_dir(tmp_path):
    """Only what the replay shell needs: bash (and dirname) for scripts/workshop-shell, the venv's
    Python, and expect for lookatme's boxes. No docker, no kubectl."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("bash", "dirname", "expect"):
        found = shutil.which(name)
        if found:
            os.symlink(found, folder / name)
    os.symlink(sys.executable, folder / "python")
    os.symlink(sys.executable, folder / "python3")
    assert shutil.which("docker", path=str(folder)) is None and shutil.which("kubectl", path=str(folder)) is None
    return str(folder)


def replay(bin_dir, recordings=RECORDINGS, session=None, state=None):
    env = {"PATH": bin_dir, "HOME": os.environ.get("HOME", "/tmp"), "WORKSHOP_REPLAY": str(recordings)}
    if session:
        env["WORKSHOP_REPLAY_SESSION"] = str(session)
    if state:  # where a running deck publishes the slide on screen
        env["WORKSHOP_STATE"] = str(state)
    session = ShellSession(SHELL, cols=106, rows=10, env=env, cwd=ROOT)
    session.wait_prompt(timeout=15)
    return session


def cast(path, events, header=None):
    """A small asciicast v2 file: the prompt, the 'enter' marker, the echo, then `events`, then a prompt."""
    lines = [header or {"version": 2, "width": 106, "height": 7}]
    lines += [[0.0, "o", PROMPT], [0.01, "m", "enter"], [0.02, "o", "typed line\r\n"]]
    lines += events
    last = events[-1][0] if events else 0.02
    lines += [[last + 0.01, "o", PROMPT], [last + 0.02, "o", "^C"], [last + 0.03, "o", "exit\r\n"]]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def lines_of(text):
    return [line for line in text.splitlines() if line.strip()]


# -- the committed recordings -------------------------------------------------------------------------


@pytest.mark.parametrize("deck_path", list(DECKS), ids=lambda path: path.name)
def test_the_committed_recordings_belong_to_the_deck_and_say_when_and_with_what(deck_path):
    folder = recordings_for(deck_path)
    boxes = [box for box in deck.read(deck_path).boxes() if box.typed]
    casts = sorted(folder.glob("*.cast"))
    assert sorted(path.name for path in casts) == sorted(cast_name(box) for box in boxes), (
        f"{folder} should hold one recording per box of {deck_path.name}, and no other (run scripts/record)"
    )
    by_name = {cast_name(box): box for box in boxes}
    for path in casts:
        header, events = recordings.load(path)
        box = by_name.get(path.name)
        assert box is not None, f"{path.name} is not a box of {deck_path.name}"
        assert header["title"] == box.typed
        assert header["workshop"]["recorded"] and header["workshop"]["versions"]["python"]
        assert any(e[1] == "m" and e[2] == "enter" for e in events)
        if "docker" in box.directives.needs:  # made on the Docker people have today
            versions = header["workshop"]["versions"]
            assert engines.version_tuple(versions.get("docker", "")) >= (28, 5), path.name
            assert (versions.get("docker_builder"), versions.get("docker_image_store")) == ("BuildKit", "containerd"), (
                path.name
            )


# -- the replay shell -----------------------------------------------------------------------------------


def test_a_box_command_replays_its_recorded_output_without_docker(bin_dir):
    assert (RECORDINGS / cast_name(CURL)).exists(), "make the recordings with scripts/record"
    with replay(bin_dir) as shell:
        status, output = shell.run(CURL.typed, timeout=15)
        assert status == 0
        assert "Hello from the workshop demo server!" in output
        assert output.rstrip("\n").splitlines()[-1].startswith("hostname:")
        assert shell.raw.endswith(PROMPT)
        # an empty line only brings a new prompt
        status, output = shell.run("", timeout=5)
        assert (status, output) == (0, "")


def test_any_other_command_is_one_line_of_explanation(bin_dir):
    with replay(bin_dir) as shell:
        for line in ("docker ps", "ls -la", "curl -s localhost:3000 -v"):
            status, output = shell.run(line, timeout=5)
            assert status == 127
            assert lines_of(output) == [ONLY_LECTURE]


def test_a_long_running_box_keeps_running_until_ctrl_c(bin_dir):
    with replay(bin_dir) as shell:
        mark = shell.type_line(SERVER.typed)
        assert shell.wait_for(r"Serving on http://0\.0\.0\.0:3000", mark, timeout=10)
        time.sleep(IDLE_LIMIT + 0.5)  # longer than any pause the replay keeps
        assert shell.read_status() is None and not shell.raw.endswith(PROMPT), "the server stopped by itself"
        stop = shell.mark
        shell.interrupt()
        status, _ = shell.finish(stop, timeout=5)
        assert status == 130
        status, output = shell.run(CURL.typed, timeout=15)  # and the shell goes on as before
        assert status == 0 and "Hello from the workshop demo server!" in output


def test_a_server_plays_up_to_its_ready_line_and_waits_there(bin_dir, tmp_path):
    """Lines a server printed later in the recording (a request log) answered other boxes; live
    they come only when those boxes run, so the replay stops at the ready line until Ctrl-C."""
    cast(
        tmp_path / cast_name(SERVER),
        [
            [0.1, "o", "Serving on http://0.0.0.0:3000\r\n"],
            [0.2, "o", '127.0.0.1 - - "GET / HTTP/1.1" 200 -\r\n'],
            [0.3, "o", "^C"],
            [0.4, "o", "stopped\r\n"],
        ],
    )
    with replay(bin_dir, tmp_path) as shell:
        mark = shell.type_line(SERVER.typed)
        assert shell.wait_for(r"Serving on http://0\.0\.0\.0:3000", mark, timeout=10)
        time.sleep(1.0)
        assert "GET /" not in shell.raw and shell.read_status() is None
        stop = shell.mark
        shell.interrupt()
        status, _ = shell.finish(stop, timeout=5)
        assert status == 130 and "stopped" in shell.raw and "GET /" not in shell.raw


def test_long_pauses_are_shortened_and_ctrl_c_stops_a_playback(bin_dir, tmp_path):
    cast(
        tmp_path / cast_name(CURL),
        [[0.1, "o", "first line\r\n"], [6.0, "o", "second line\r\n"], [12.0, "o", "third line\r\n"]],
    )
    with replay(bin_dir, tmp_path) as shell:
        started = time.monotonic()
        mark = shell.type_line(CURL.typed)
        assert shell.wait_for("second line", mark, timeout=10)
        waited = time.monotonic() - started
        assert IDLE_LIMIT - 0.3 < waited < IDLE_LIMIT + 1.5, waited  # 5.9 s recorded, at most 2 s played
        stop = shell.mark
        shell.interrupt()
        status, output = shell.finish(stop, timeout=5)
        assert status == 130
        assert "third line" not in shell.raw
        status, output = shell.run("", timeout=5)
        assert status == 0


def test_a_command_several_boxes_share_plays_them_in_deck_order(bin_dir, tmp_path):
    """The flood before and after scaling: the first shell gets the first box's recording, the
    next shell the second, and a shell that runs it again keeps its own."""
    repeated: dict[str | None, list[deck.Box]] = {}
    for box in DECK_MODEL.boxes():
        repeated.setdefault(box.typed, []).append(box)
    boxes = next(found for found in repeated.values() if len(found) == 2 and not found[0].directives.long_running)
    recordings, session = tmp_path / "casts", tmp_path / "session"
    recordings.mkdir()
    session.mkdir()
    for box in boxes:
        cast(recordings / cast_name(box), [[0.05, "o", f"recorded on {box.label}\r\n"]])
    seen = []
    for _ in boxes:
        with replay(bin_dir, recordings, session) as shell:
            seen.append(shell.run(boxes[0].typed, timeout=10)[1].strip())
            again = shell.run(boxes[0].typed, timeout=10)[1].strip()
            assert again == seen[-1]
    assert seen == [f"recorded on {box.label}" for box in boxes]


def test_a_missing_recording_is_one_line_naming_the_file_and_the_fix(bin_dir, tmp_path):
    with replay(bin_dir, tmp_path) as shell:
        status, output = shell.run(CURL.typed, timeout=5)
    assert status == 1
    (line,) = lines_of(output)
    assert str(tmp_path / "curl-server.cast") in line and "scripts/record" in line


def test_a_cluster_box_without_a_recording_says_it_has_none(bin_dir, tmp_path):
    box = next(b for b in DECK_MODEL.boxes() if "cluster" in b.directives.needs)
    with replay(bin_dir, tmp_path) as shell:
        status, output = shell.run(box.typed, timeout=5)
    assert status == 1
    (line,) = lines_of(output)
    assert f"there is no recording {tmp_path / cast_name(box)} yet" in line


@pytest.mark.parametrize(
    "content",
    [
        "this is not json\n",
        '{"version": 1}\n[0.1, "o", "x"]\n',
        '{"version": 2}\n[0.1, "o"]\n',
        '{"version": 2}\n[0.1, "o", "no marker"]\n',
    ],
    ids=["not-json", "version-1", "short-event", "no-enter-marker"],
)
def test_a_corrupt_recording_is_one_line(bin_dir, tmp_path, content):
    (tmp_path / cast_name(CURL)).write_text(content)
    with replay(bin_dir, tmp_path) as shell:
        status, output = shell.run(CURL.typed, timeout=5)
        assert status == 1
        (line,) = lines_of(output)
        assert line.startswith(f"replay mode: cannot replay {tmp_path / cast_name(CURL)} (")
        assert line.endswith("refresh it with scripts/record")
        assert "Traceback" not in shell.raw


def test_exit_and_ctrl_d_end_the_shell(bin_dir):
    for keys in (b"exit\r", b"\x04"):
        shell = replay(bin_dir)
        try:
            shell.process.write(keys)
            deadline = time.monotonic() + 5
            while shell.process.isalive() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not shell.process.isalive(), keys
        finally:
            shell.close()


# -- scripts/record ------------------------------------------------------------------------------------

TINY = ROOT / "tests" / "decks" / "tiny.md"


def test_record_keeps_a_good_recording_when_its_box_fails_then_replay_plays_the_new_ones(
    bin_dir, tmp_path, monkeypatch, capsys, docker
):
    """On the tiny deck: slide 3 box 1 fails, so its old recording stays (record insists on a real engine)."""
    monkeypatch.delenv("WORKSHOP_REPLAY", raising=False)  # record.main clears it; restore it afterwards
    kept = cast(tmp_path / "slide-03-box-1.cast", [[0.1, "o", "the old, good recording\r\n"]])
    before = kept.read_text()
    assert (
        record.main(["--deck", str(TINY), "--recordings", str(tmp_path), "--slides", "1,3", "--without", "cluster"])
        == 1
    )
    out = capsys.readouterr().out
    assert "record: 2 recordings written to" in out and "3 failed boxes kept their previous recording" in out
    assert kept.read_text() == before
    assert sorted(p.name for p in tmp_path.glob("*.cast")) == [
        "slide-01-box-1.cast",
        "slide-01-box-2.cast",
        "slide-03-box-1.cast",
    ]
    header, _ = recordings.load(tmp_path / "slide-01-box-1.cast")
    assert header["workshop"]["recorded"] == time.strftime("%Y-%m-%d")
    env = {"PATH": bin_dir, "WORKSHOP_REPLAY": str(tmp_path), "WORKSHOP_REPLAY_DECK": str(TINY)}
    with ShellSession(SHELL, env=env, cwd=ROOT) as shell:
        shell.wait_prompt()
        assert shell.run('echo "hello from $((6 * 7))"', timeout=10) == (0, "hello from 42\n")
        status, output = shell.run("ls /no/such/folder", timeout=10)
        assert status == 0 and "No such file or directory" in output  # replayed, not run


# -- the deck in replay mode ------------------------------------------------------------------------


def test_the_deck_renders_in_replay_mode_with_each_command_typed(bin_dir, monkeypatch):
    need(shutil.which("expect") is not None, "expect", "apt-get install -y expect")
    monkeypatch.setenv("WORKSHOP_REPLAY", str(RECORDINGS))
    monkeypatch.setenv("PATH", bin_dir)  # lookatme's boxes inherit os.environ: no docker, no kubectl
    kubernetes = next(b.slide for b in DECK_MODEL.boxes() if "cluster" in b.directives.needs)
    slides = render_deck(DECK, 120, 40, pump=2.0, only=[2, kubernetes])
    assert {s.number: s.problems() for s in slides} == {2: [], kubernetes: []}
    for slide in slides:
        for box in DECK_MODEL.slide(slide.number).boxes:
            shown = f"{PROMPT}{box.typed}"[: box_columns(DECK_MODEL.meta)]  # a long command wraps in its box
            assert shown in slide.text, f"slide {slide.number}: {box.label} shows no command"


def test_present_replay_without_recordings_is_one_line(tmp_path):
    status, text = run_in_terminal([str(ROOT / "scripts" / "present"), f"--replay={tmp_path / 'none'}"])
    assert status == 2
    assert lines_of(text) == [
        f"present: no recordings in {tmp_path / 'none'}: make them with scripts/record, "
        "or name the folder with --replay=DIR"
    ]


def test_rehearse_in_the_tui_checks_the_replay_folder_as_present_does(tmp_path):
    """One --replay for both commands: the same folder found, the same one-line errors."""
    missing = run_command("rehearse", "--tui", f"--replay={tmp_path / 'none'}", timeout=60)
    assert (missing.returncode, missing.stdout) == (2, ""), missing.stdout
    assert missing.stderr == (
        f"rehearse: no recordings in {tmp_path / 'none'}: make them with scripts/record, "
        "or name the folder with --replay=DIR\n"
    )
    a_deck = run_command("rehearse", "--tui", "--replay", EXTRAS, timeout=60)
    assert a_deck.returncode == 2 and a_deck.stderr.startswith("rehearse: --replay takes a folder of recordings"), (
        a_deck.stderr
    )
    assert replay_folder(EXTRAS, True) == recordings_for(EXTRAS).resolve()
    assert replay_folder(DECK, None) is None


def test_present_replay_given_a_deck_instead_of_a_folder_says_how_to_name_it():
    status, text = run_in_terminal([str(ROOT / "scripts" / "present"), "--replay", str(EXTRAS)])
    assert status == 2
    assert lines_of(text) == [
        "present: --replay takes a folder of recordings, not a deck: to replay extras.md, "
        "name the deck first (scripts/present extras.md --replay)"
    ]


def test_a_command_several_slides_share_plays_the_box_of_the_slide_on_screen(bin_dir, tmp_path):
    """Jumping straight to the later slide (a student who skips ahead) plays that slide's recording, not
    the first one in deck order: the replay shell asks which slide the deck shows."""
    repeated: dict[str | None, list[deck.Box]] = {}
    for box in DECK_MODEL.boxes():
        repeated.setdefault(box.typed, []).append(box)
    boxes = next(
        found
        for found in repeated.values()
        if len({b.slide for b in found}) == 2 and not found[0].directives.long_running
    )
    later = [b for b in boxes if b.slide == boxes[-1].slide]
    recordings, session, state = tmp_path / "casts", tmp_path / "session", tmp_path / "state"
    for folder in (recordings, session, state):
        folder.mkdir()
    for box in boxes:
        cast(recordings / cast_name(box), [[0.05, "o", f"recorded on {box.label}\r\n"]])
    shown = {"deck": str(DECK), "slide": later[0].slide, "count": len(DECK_MODEL.slides), "changed": 1.0}
    (state / "presenter.json").write_text(json.dumps({**shown, "started": 1.0, "pid": os.getpid()}))
    with replay(bin_dir, recordings, session, state) as shell:
        assert shell.run(boxes[0].typed, timeout=10)[1].strip() == f"recorded on {later[0].label}"
    (state / "presenter.json").unlink()  # no deck running: deck order, as before
    with replay(bin_dir, recordings, state=state) as shell:
        assert shell.run(boxes[0].typed, timeout=10)[1].strip() == f"recorded on {boxes[0].label}"
