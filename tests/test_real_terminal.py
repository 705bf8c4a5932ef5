"""End to end in a real terminal: scripts/present, unchanged, in tmux at exactly 120x40, driven with
the presenter's keys; every screen is captured, checked and kept in the test's own temporary folder (its path is printed),
never in the checkout's state.

The full walk uses replay mode, so it does not depend on Docker or the cluster; a short live walk
checks that the ordinary mode starts its real shells too. Each test runs its own tmux server on its
own socket (-L), never the user's, and kills that server at the end, failed or not.
"""

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import need
from workshop.cli import WorkshopError
from workshop.deck import reader as deck
from workshop.deck.geometry import box_columns
from workshop.machine import processes
from workshop.machine.tmux import Tmux
from workshop.names import PROMPT
from workshop.paths import DECK, ROOT

pytestmark = pytest.mark.slow

COLS, ROWS = 120, 40
DECK_MODEL = deck.read(DECK)
COUNT = len(DECK_MODEL.slides)
BOX_COLS = box_columns(DECK_MODEL.meta, COLS)  # what fits on a box's first line
BAD = ("Traceback", "Error rendering")


def tagged_processes(tag: str):
    """Processes still alive that carry this test's tag in their environment (lookatme, expect, shells)."""
    return processes.with_environment("WORKSHOP_E2E_TAG", tag)


class TaggedTmux(Tmux):
    """A test's tmux: the tag its processes carry, and the folder its screens are saved in."""

    def __init__(self, tag: str, folder: Path):
        super().__init__(f"workshop-e2e-{tag}", COLS, ROWS)
        self.tag, self.folder = tag, folder


@pytest.fixture
def terminal(tmp_path):
    """Start scripts/present ARGS in a fresh tmux; yields (start, artifacts folder)."""
    for program in ("tmux", "expect"):
        need(shutil.which(program) is not None, program, f"apt-get install -y {program}")
    started = []
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def start(args: str, artifacts: str) -> TaggedTmux:
        folder = tmp_path / "screens" / artifacts
        folder.mkdir(parents=True, exist_ok=True)
        session = TaggedTmux(tag, folder)
        started.append(session)
        print(f"screens saved under {folder}")
        # the tag is inherited by the tmux server and everything under it
        session.start(
            f"cd {ROOT} && exec scripts/present {args}", tmp_path, env={**os.environ, "WORKSHOP_E2E_TAG": tag}
        )
        return session

    try:
        yield start
    finally:
        for session in started:
            try:  # the last screen, whatever happened (kept on failure)
                (session.folder / "last.txt").write_text(session.screen())
            except (WorkshopError, OSError, subprocess.SubprocessError):
                pass
            session.kill()


def footer(number: int) -> str:
    return f"slide {number} / {COUNT}"


def check_slide(session: TaggedTmux, number: int, name: str = "") -> str:
    screen = session.wait_for(footer(number))
    for box in DECK_MODEL.slide(number).boxes:  # each box's shell starts and gets its command typed
        screen = session.wait_for(f"{PROMPT}{box.typed}"[:BOX_COLS])
    (session.folder / f"slide-{number:02d}{name}.txt").write_text(screen)
    title = DECK_MODEL.slide(number).title
    assert title in screen, f"slide {number}: title {title!r} is not on the screen:\n{screen}"
    for bad in BAD:
        assert bad not in screen, f"slide {number} shows {bad!r}:\n{screen}"
    return screen


def ended(pid: int) -> bool:
    """Gone, or a zombie that has exited and only waits for tmux to collect its status."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def quit_and_check(session: TaggedTmux) -> None:
    session.keys("q")
    deadline = time.monotonic() + 10
    pane = session.pane()
    while not (pane.dead and ended(pane.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
        pane = session.pane()
    deadline = time.monotonic() + 2  # tmux may mark the pane dead a moment before its status
    while pane.dead and not (pane.status or pane.signal) and time.monotonic() < deadline:
        time.sleep(0.1)
        pane = session.pane()
    assert pane.dead and ended(pane.pid), f"scripts/present is still running after q: {pane}"
    # tmux 3.3a now and then leaves the ended process unreaped, so its status may be unknown
    assert pane.signal == "" and pane.status in ("0", ""), f"scripts/present ended badly: {pane}"
    server = session.server_pid()  # tmux itself carries the tag too
    deadline = time.monotonic() + 5
    while set(tagged_processes(session.tag)) - {server, os.getpid()} and time.monotonic() < deadline:
        time.sleep(0.1)
    left = set(tagged_processes(session.tag)) - {server, os.getpid()}
    assert not left, f"processes of the deck outlived it: {sorted(left)}"


@pytest.mark.bare
def test_replay_walk_of_the_whole_deck_at_120x40(terminal):
    session = terminal("--replay", "real-terminal")
    screen = check_slide(session, 1)
    assert session.pane().size == (COLS, ROWS)
    assert "note: Docker" not in screen
    curl = DECK_MODEL.slide(2).boxes[1]
    for number in range(2, COUNT + 1):
        session.keys("Right")
        check_slide(session, number)
        if number == 2:
            # run the server box, then the curl box under it; both replay their recordings
            session.keys("Down", "Enter")
            session.wait_for("Serving on http://0.0.0.0:3000")
            session.keys("C-a", "Down", "Enter")
            screen = session.wait_for("Hello from the workshop demo server!")
            (session.folder / "slide-02-after-enter.txt").write_text(screen)
            assert curl.typed and re.search(
                rf"{re.escape(PROMPT + curl.typed)}\s*│\n\s*│Hello from the workshop demo server!", screen
            )
            # any other command gets the one-line explanation, not an error
            session.keys("C-a", "Up", "C-c")
            session.tmux("send-keys", "-t", "deck", "-l", "ls")
            session.keys("Enter")
            screen = session.wait_for("replay mode: only the lecture's own commands")
            (session.folder / "slide-02-other-command.txt").write_text(screen)
            session.keys("C-a")
    quit_and_check(session)


def test_live_walk_of_the_first_slides(terminal):
    session = terminal("", "real-terminal-live")
    check_slide(session, 1)
    for number in range(2, 6):
        session.keys("Right")
        check_slide(session, number)
    session.keys("Left")
    check_slide(session, 4, "-back")
    quit_and_check(session)


def test_a_window_shrunk_while_presenting_gets_one_line_and_the_deck_goes_on(terminal):
    """Fault drill: the presenter's window shrinks below 120x40 on a slide with live boxes."""
    session = terminal("", "shrink")
    check_slide(session, 1)
    session.keys("Right")
    check_slide(session, 2)
    session.tmux("resize-window", "-t", "deck", "-x", "100", "-y", "30")
    session.wait_for("this window is 100x30")
    small = session.wait_for(footer(2))  # the whole screen redrawn at the new size
    first = small.splitlines()[0].strip()
    assert first == "this window is 100x30; the deck is made for 120x40: enlarge it or make the font smaller"
    assert footer(2) in small and not any(bad in small for bad in BAD)
    session.tmux("resize-window", "-t", "deck", "-x", str(COLS), "-y", str(ROWS))
    deadline = time.monotonic() + 10
    while "this window is" in session.screen() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "this window is" not in session.screen()
    check_slide(session, 2, "-enlarged")
    session.keys("C-a")
    quit_and_check(session)  # it ends well, and no process of the deck outlives it
