"""The deck as the class sees it: scripts/present in a private tmux at 120x40, driven with the
presenter's keys, judged by the screen (workshop/rehearsal/tui.py), and the rule of a box's life
(workshop/presenter/boxes.py): Ctrl-C when its slide is left, nothing left when the deck ends.

Small decks written here show each way a box can fail on screen; the whole deck is walked live on
the cluster and in replay mode by the tests at the end (CI runs both, every run)."""

import json
import os
import re
import shlex
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest

from workshop.cli import WorkshopError
from workshop.deck import reader
from workshop.machine import ports, processes
from workshop.machine.tmux import Tmux
from workshop.names import DEBIAN_IMAGE
from workshop.paths import DECK, EXTRAS, ROOT
from workshop.presenter import timings
from workshop.rehearsal import recordings, screen as screens, tui
from workshop.rehearsal.recordings import cast_name

Box = tuple[str, int, Sequence[str]]  # (typed command, rows, directives)


def write_deck(folder: Path, slides: list[list[Box]]) -> Path:
    front = (
        "---\ntitle: tui test\ndate: 2026-12-03\nextensions: [terminal, file_loader]\n"
        "styles:\n  padding:\n    left: 4\n    right: 4\n---\n\n"
    )
    parts = []
    for number, boxes in enumerate(slides, 1):
        text = f"# Slide {number}\n\n"
        for typed, rows, rules in boxes:
            text += (
                f"```terminal-ex\ncommand: scripts/workshop-shell\nrows: {rows}\ninit_text: {json.dumps(typed)}\n"
                f"init_wait: 'workshop$ '\ninit_codeblock: false\n```\n"
            )
            text += "".join(f'[rehearse]: # "{rule}"\n' for rule in rules) + "\n"
        parts.append(text)
    path = folder / "deck.md"
    path.write_text(front + "\n---\n\n".join(parts))
    return path


def walk(deck_path: Path, folder: Path, replay: Path | None = None, again: list[int] | None = None) -> tui.Rehearsal:
    deck = reader.read(deck_path)
    rehearsal = tui.Rehearsal(
        tui.Walk(
            deck,
            replay=replay,
            artifacts=folder,
            present=f"scripts/present {shlex.quote(str(deck_path))}",
            again=again,
        )
    )
    rehearsal.run()
    return rehearsal


def verdicts(rehearsal: tui.Rehearsal) -> list[tuple[str, str]]:
    return [(r.verdict, r.problem) for r in rehearsal.results]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server(port: int) -> str:
    return f"python3 -m http.server {port} --bind 127.0.0.1"


SERVING = "ready: Serving HTTP on 127\\.0\\.0\\.1"


# ------------------------------------------------------------------ the screen, read (no deck needed)
SCREEN = """\
  title
  ┌────────────┐
  │workshop$ ec│
  │ho hi       │
  │hi          │
  │workshop$   │
  └────────────┘
  ┌────────────┐
  │workshop$ ls│
  │Traceback (m│
"""


def test_boxes_are_read_inside_their_borders_with_wrapped_lines_joined():
    first, second = screens.boxes(SCREEN)
    assert (first.top, first.left, first.width, first.closed) == (1, 2, 12, True)
    assert first.text == "workshop$ echo hi\nhi\nworkshop$"
    assert first.at_prompt() and screens.shows_typed(first, "echo hi")
    assert not screens.shows_typed(first, "echo")  # a longer command is not this one
    assert not screens.shows_typed(second, "l")
    assert not second.closed and not second.at_prompt()
    assert "Traceback" not in screens.outside(SCREEN) and "title" in screens.outside(SCREEN)
    assert second.holds(3, 8) and not second.holds(3, 2)


def test_a_command_typed_again_after_a_ctrl_c_is_found_on_the_last_row():
    """A server stopped with Ctrl-C leaves bash's next prompt on the row of its ^C; a box whose command
    was typed again has it there, and one with output after it has not."""
    shown = (
        "  ┌────────────────────┐\n  │workshop$ serve     │\n  │Serving             │\n"
        "  │^Cworkshop$ serve   │\n  └────────────────────┘\n"
    )
    (box,) = screens.boxes(shown)
    assert screens.typed_last(box, "serve") and screens.typed_rows(box, "serve") == range(0, 1)
    ran = screens.boxes(shown.replace("│^Cworkshop$ serve   │", "│workshop$ serve     │\n  │Serving             │"))[0]
    assert not screens.typed_last(ran, "serve")
    assert screens.output(box, "serve", last=True) == ""


def test_a_command_that_fills_its_last_row_exactly_is_found_and_its_output_starts_below():
    rows = ["workshop$ ", "echo abcd1", "abcd1     ", "workshop$ "]  # the command is 20 = 2 x 10 columns
    screen = "┌" + "─" * 10 + "┐\n" + "".join(f"│{row}│\n" for row in rows) + "└" + "─" * 10 + "┘"
    (box,) = screens.boxes(screen)
    assert screens.typed_rows(box, "echo abcd1") == range(0, 2)
    assert screens.output(box, "echo abcd1") == "abcd1" and box.at_prompt()  # the next prompt is not output
    assert not screens.shows_typed(box, "echo abcd")
    full = screen.replace("│abcd1     │", "│abcd1abcd1│")  # output exactly as wide as the box
    (box,) = screens.boxes(full)
    assert box.at_prompt(), "a full-width line of output hid the prompt below it"


# ------------------------------------------------------------------ small decks in the real TUI
@pytest.mark.slow
@pytest.mark.bare
def test_a_good_deck_passes_and_a_server_left_on_one_slide_does_not_block_the_next(tmp_path):
    """The deck itself stops slide 1's server when the walk moves on (nobody presses Ctrl-C),
    so slide 2's server on the same port starts; the walk's per-slide times are recorded."""
    port = free_port()
    deck = write_deck(
        tmp_path,
        [
            [(server(port), 4, [SERVING])],
            [
                (server(port), 4, [SERVING]),
                (f"curl -s -o /dev/null -w 'code %{{http_code}}\\n' 127.0.0.1:{port}", 3, ["expect: ^code 200$"]),
            ],
        ],
    )
    rehearsal = walk(deck, tmp_path / "screens")
    # slide 2 has a long-running box, so the walk gives it twice: its server runs (and is judged) again
    assert verdicts(rehearsal) == [("OK", "")] * 4, rehearsal.results
    assert rehearsal.slide_problems == []
    assert (tmp_path / "screens" / "slide-02-again.txt").exists()
    again = (tmp_path / "screens" / "slide-02-box-1-again.txt").read_text()
    assert "Keyboard interrupt received" in again and "Serving HTTP" in again  # stopped on leaving, then run again
    assert set(rehearsal.slide_seconds) == {1, 2}
    assert (tmp_path / "screens" / "slide-02-box-2.txt").read_text().count("code 200") == 1
    assert not ports.busy(port), "the deck ended, but its server still listens"


@pytest.mark.slow
@pytest.mark.bare
def test_a_key_line_that_scrolls_out_of_its_box_fails(tmp_path):
    deck = write_deck(tmp_path, [[("echo key-line; seq 1 6", 4, ["expect: ^key-line$"])]])
    (result,) = walk(deck, tmp_path / "screens").results
    assert result.verdict == "FAIL" and "no line matching '^key-line$'" in result.problem


@pytest.mark.slow
@pytest.mark.bare
def test_a_typed_command_that_scrolls_out_of_its_box_fails(tmp_path):
    deck = write_deck(tmp_path, [[("seq 1 6", 4, ["expect: ^6$"])]])
    (result,) = walk(deck, tmp_path / "screens").results
    assert result.verdict == "FAIL" and "scrolled out of the box" in result.problem


@pytest.mark.slow
@pytest.mark.bare
def test_a_port_held_by_an_earlier_slides_box_fails_the_later_box(tmp_path):
    """A server that ignores Ctrl-C outlives its slide; the next slide's server cannot bind."""
    port = free_port()
    stubborn = f"sh -c \"trap '' INT; exec {server(port)}\""
    deck = write_deck(tmp_path, [[(stubborn, 4, [SERVING])], [(server(port), 6, [SERVING, "timeout: 8"])]])
    rehearsal = walk(deck, tmp_path / "screens", again=[])  # no slide given twice: one verdict per box
    (first, _), (second, why) = verdicts(rehearsal)
    assert first == "OK" and second == "FAIL", rehearsal.results
    assert "address already in use" in why.lower(), why
    assert "Address already in use" in rehearsal.results[1].output  # what the box showed, kept
    assert not ports.busy(port), "the deck ended, but the stubborn server still listens"


@pytest.mark.slow
@pytest.mark.bare
def test_a_box_that_errors_fails(tmp_path):
    deck = write_deck(tmp_path, [[("no-such-command-here", 3, [])]])
    (result,) = walk(deck, tmp_path / "screens").results
    assert result.verdict == "FAIL" and "command not found" in result.problem


HIDE_CURSOR = "printf '\\033[?25l'; for n in 1 2 3 4 5 6; do echo tick $n; sleep 0.3; done; printf '\\033[?25h'"


@pytest.mark.slow
@pytest.mark.bare
def test_a_box_that_hides_the_cursor_while_focused_does_not_abort_the_deck_live(tmp_path):
    deck = write_deck(tmp_path, [[(HIDE_CURSOR, 9, ["expect: ^tick 6$"])], [("echo after", 3, ["expect: ^after$"])]])
    rehearsal = walk(deck, tmp_path / "screens")
    assert rehearsal.ended is None, rehearsal.ended and rehearsal.ended.lines()
    assert verdicts(rehearsal) == [("OK", "")] * 2


@pytest.mark.slow
@pytest.mark.bare
def test_a_box_that_hides_the_cursor_while_focused_does_not_abort_the_deck_in_replay(tmp_path):
    """The recording holds BuildKit's habit: hide the cursor, redraw a few times, show it again."""
    deck = write_deck(tmp_path, [[("echo build", 9, ["expect: ^step 6$"])]])
    cast = recordings.Recording(106, 9, "echo build")
    cast.output(0.01, "workshop$ ")
    cast.marker(0.02, "enter")
    cast.output(0.03, "echo build\r\n\x1b[?25l")
    for n in range(1, 7):
        cast.output(0.03 + 0.3 * n, f"step {n}\r\n")
    cast.output(2.2, "\x1b[?25hworkshop$ ")
    folder = tmp_path / "casts"
    folder.mkdir()
    cast.write(folder / cast_name(reader.read(deck).slide(1).boxes[0]))
    rehearsal = walk(deck, tmp_path / "screens", replay=folder)
    assert rehearsal.ended is None, rehearsal.ended and rehearsal.ended.lines()
    assert verdicts(rehearsal) == [("OK", "")]


# ------------------------------------------------------------------ the rule of a box's life, by hand
class Deck:
    """scripts/present DECK in a private tmux, for the tests that press keys themselves."""

    def __init__(self, deck: Path, folder: Path):
        self.tag = uuid.uuid4().hex[:10]
        self.tmux = Tmux(f"workshop-e2e-{self.tag}")
        self.tmux.start(
            f"cd {ROOT} && exec scripts/present {shlex.quote(str(deck))}",
            folder,
            env={**os.environ, "WORKSHOP_E2E_TAG": self.tag},
        )
        self.server = self.tmux.server_pid()  # tmux carries the tag too; it is not the deck's
        self.tmux.wait_for("slide 1 /", 30)

    def box_screen(self, typed: str) -> screens.ScreenBox:
        found = [b for b in screens.boxes(self.tmux.screen()) if screens.shows_typed(b, typed)]
        assert found, self.tmux.screen()
        return found[-1]

    def wait(self, check, timeout: float = 20.0, what: str = ""):
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"{what} within {timeout:g} s; the screen:\n{self.last_screen()}"
            time.sleep(0.2)

    def last_screen(self) -> str:
        try:
            return self.tmux.screen()
        except WorkshopError as gone:  # the test closed the window itself
            return f"(none: {gone})"

    def leftovers(self) -> list[int]:
        return [pid for pid in processes.with_environment("WORKSHOP_E2E_TAG", self.tag) if pid != self.server]


def nothing_left(deck: Deck) -> None:
    deck.wait(lambda: not deck.leftovers(), 20, "every process the deck started has ended")


@pytest.mark.slow
@pytest.mark.bare
def test_leaving_a_slide_stops_its_server_and_coming_back_enter_starts_it_again(tmp_path):
    port = free_port()
    path = write_deck(tmp_path, [[(server(port), 5, [SERVING])], [("echo two", 3, [])]])
    deck = Deck(path, tmp_path)
    try:
        deck.wait(lambda: screens.boxes(deck.tmux.screen()), what="the box")
        deck.tmux.keys("Down", "Enter")
        deck.wait(lambda: ports.busy(port), what="the server listens")
        deck.tmux.keys("C-a", "Right")
        deck.tmux.wait_for("slide 2 /")
        deck.wait(lambda: not ports.busy(port), 10, "the deck stopped the server it left")
        deck.tmux.keys("Left")
        deck.tmux.wait_for("slide 1 /")
        # the command is typed again below the ^C, ready for Enter
        deck.wait(
            lambda: deck.box_screen(server(port)).text.splitlines()[-1] == f"workshop$ {server(port)}",
            10,
            "the command typed again",
        )
        deck.tmux.keys("Down", "Enter")
        deck.wait(lambda: ports.busy(port), what="the server listens a second time")
        deck.tmux.keys("C-a", "q")
        deck.wait(lambda: deck.tmux.pane().dead, 20, "the deck ended on q")
        assert not ports.busy(port)
        nothing_left(deck)
    finally:
        deck.tmux.kill()


@pytest.mark.slow
@pytest.mark.bare
def test_a_slide_given_again_has_every_command_typed_again_and_down_goes_to_its_first_box(tmp_path):
    """The presenter ran both boxes, left the slide with the focus on its last box, and came back:
    each box shows what it printed with its command typed again below, and Down, Enter runs the first."""
    port = free_port()
    path = write_deck(tmp_path, [[("echo one", 3, [])], [(server(port), 5, [SERVING]), ("echo two", 5, [])]])
    deck = Deck(path, tmp_path)
    try:
        deck.tmux.keys("Right")
        deck.tmux.wait_for("slide 2 /")
        deck.wait(lambda: len(screens.boxes(deck.tmux.screen())) == 2, what="slide 2's boxes")
        deck.tmux.keys("Down", "Enter")
        deck.wait(lambda: ports.busy(port), what="the server listens")
        deck.tmux.keys("C-a", "Down", "Enter")
        deck.wait(lambda: "\ntwo" in deck.box_screen("echo two").text, what="the second box ran")
        deck.tmux.keys("C-a", "Left")  # left with the focus on the last box
        deck.tmux.wait_for("slide 1 /")
        deck.tmux.keys("Right")
        deck.tmux.wait_for("slide 2 /")
        for typed in (server(port), "echo two"):
            deck.wait(
                lambda typed=typed: screens.typed_last(deck.box_screen(typed), typed),
                10,
                f"`{typed}` typed again at the bottom of its box",
            )
        assert deck.box_screen("echo two").text.count("two") == 3  # typed, printed, typed again
        deck.tmux.keys("Down")
        pane = deck.tmux.pane()
        first = [b for b in screens.boxes(deck.tmux.screen()) if screens.shows_typed(b, server(port))][0]
        assert pane.cursor_shown and first.holds(*pane.cursor), "Down did not give the keys to the first box"
        deck.tmux.keys("Enter")
        deck.wait(lambda: ports.busy(port), what="the server listens a second time")
        deck.tmux.keys("C-a", "q")
        deck.wait(lambda: deck.tmux.pane().dead, 20, "the deck ended on q")
        nothing_left(deck)
    finally:
        deck.tmux.kill()


CONTAINER = "workshop-tui-test-{}"


def container_state(name: str) -> str:
    done = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.Status}}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["q", "window closed"])
def test_the_deck_ending_leaves_no_process_and_no_container_of_its_boxes(tmp_path, docker, how):
    """A container that ignores Ctrl-C (sleep as PID 1), started by a box: q, or the tmux server
    killed under the deck, removes it; a user's own container, started meanwhile, stays."""
    name, decoy = CONTAINER.format(uuid.uuid4().hex[:6]), CONTAINER.format("users-own-" + uuid.uuid4().hex[:6])
    path = write_deck(tmp_path, [[(f"docker run -it --rm --name {name} {DEBIAN_IMAGE} sleep 600", 4, [])]])
    deck = Deck(path, tmp_path)
    try:
        subprocess.run(
            ["docker", "run", "-d", "--name", decoy, DEBIAN_IMAGE, "sleep", "600"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deck.wait(lambda: screens.boxes(deck.tmux.screen()), what="the box")
        deck.tmux.keys("Down", "Enter")
        deck.wait(lambda: container_state(name).startswith("Up"), 60, "the box's container runs")
        if how == "q":
            deck.tmux.keys("C-a", "q")
        else:
            deck.tmux.kill()
        # the deck gives the box 8 s to end after Ctrl-C (sleep ignores it), then asks the engine; beside the
        # class lane, each docker call can take seconds
        deck.wait(lambda: container_state(name) == "", 60, "the box's container is gone")
        nothing_left(deck)
        assert container_state(decoy).startswith("Up"), "the user's own container was touched"
    finally:
        deck.tmux.kill()
        subprocess.run(["docker", "rm", "-f", name, decoy], capture_output=True, timeout=60)


# ------------------------------------------------------------------ the whole deck, as CI gives it
def run_rehearse(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / "rehearse"), "--tui", *args], capture_output=True, text=True, timeout=3000, cwd=ROOT
    )


def check_whole_walk(done: subprocess.CompletedProcess, mode: str, deck: Path = DECK) -> None:
    print(done.stdout[-6000:], done.stderr[-2000:])
    assert done.returncode == 0, f"the TUI rehearsal failed:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    summary = [line for line in done.stdout.splitlines() if line.startswith("tui rehearsal:")]
    assert summary and re.search(r" [1-9]\d* passed, 0 failed", summary[0]), done.stdout
    report = json.loads(timings.last_rehearsal().read_text())
    assert report["mode"] == mode and len(report["slide_seconds"]) == len(reader.read(deck).slides)


def with_slide_inserted(deck: Path, before: int, folder: Path) -> Path:
    """A copy of the deck with a slide of text (no box) inserted before slide BEFORE."""
    lines = deck.read_text().split("\n")
    at = reader.read(deck).slide(before).line - 1
    lines[at:at] = ["# A slide inserted on a copy", "", "Every later slide moves down by one.", "", "---", ""]
    copy = folder / deck.name
    copy.write_text("\n".join(lines))
    return copy


@pytest.fixture
def own_state(tmp_path, monkeypatch):
    """A replay walk's report and screens in a state folder of its own (the bare lane runs it while other
    lanes write the checkout's), read back in-process through the same WORKSHOP_STATE."""
    monkeypatch.setenv("WORKSHOP_STATE", str(tmp_path / "own-state"))


@pytest.mark.slow
@pytest.mark.bare
def test_the_whole_deck_in_the_real_tui_in_replay_mode_with_a_slide_inserted_at_10(tmp_path, own_state):
    """The lecture with a slide inserted at 10, replayed from the committed recordings, unchanged: a
    recording is named by its box's id, not its place, so every box after the new slide still finds its own."""
    copy = with_slide_inserted(DECK, 10, tmp_path)
    lecture, moved = reader.read(DECK), reader.read(copy)
    assert len(moved.slides) == len(lecture.slides) + 1
    assert [(b.id, b.slide + (b.slide >= 10)) for b in lecture.boxes()] == [(b.id, b.slide) for b in moved.boxes()]
    check_whole_walk(run_rehearse("--deck", str(copy), f"--replay={ROOT / 'recordings'}"), "tui-replay", copy)


@pytest.mark.slow
@pytest.mark.cluster
def test_the_whole_deck_in_the_real_tui_live_on_the_cluster(docker, workshop_cluster):
    check_whole_walk(run_rehearse(), "tui")


@pytest.mark.slow
@pytest.mark.bare
def test_the_extras_deck_in_the_real_tui_in_replay_mode(own_state):
    check_whole_walk(run_rehearse("--deck", str(EXTRAS), "--replay"), "tui-replay", EXTRAS)


@pytest.mark.slow
@pytest.mark.cluster
# its drain evicts every pod of a worker node, in every namespace: a class-lane test's bare pod there
# (the network policy test's server) made the drain refuse (CI55), so it waits for the class lane to end
@pytest.mark.cluster_alone
def test_the_extras_deck_in_the_real_tui_live_on_the_cluster(docker, workshop_cluster):
    check_whole_walk(run_rehearse("--deck", str(EXTRAS)), "tui", EXTRAS)


@pytest.mark.slow
def test_a_container_of_the_deck_left_running_is_named_as_the_decks_own_with_its_fix(docker):
    """A deck killed outright (kill -9: nothing can clean up) leaves its -it container holding port
    8000; the next rehearsal's fix line says whose it is and how to remove it."""
    from workshop.rehearsal import needs

    box = next(
        b for b in reader.read(DECK).boxes() if (b.typed or "").startswith("docker run -it --rm --name workshop-demo")
    )
    assert not ports.busy(8000), "port 8000 is taken before the test: free it first"
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", "workshop-demo", "-p", "8000:3000", "workshop-demo-py:1.0"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        deadline = time.monotonic() + 20
        while not ports.busy(8000) and time.monotonic() < deadline:
            time.sleep(0.2)
        fix = needs.port_in_the_way(box)
        assert fix == (
            "fix: port 8000 is held by the container workshop-demo, which a box of this deck starts and an "
            "earlier deck left running: remove it (docker rm -f workshop-demo), then run the box again"
        ), fix
    finally:
        subprocess.run(["docker", "rm", "-f", "workshop-demo"], capture_output=True, timeout=60)
