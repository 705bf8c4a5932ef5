"""Speaker notes, the time budget and the notes view: parsed by the deck reader, never shown to the
audience (lookatme's own renderer), published by the real lookatme TUI on each slide change, and,
marked slow, followed live in a second tmux pane while the deck is driven with the arrow keys."""

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import lookatme.tui
import pytest
from lookatme.pres import Presentation

from support.checkout import as_committed
from support.render import render_deck
from workshop.deck import clock as talk_clock, reader as deck
from workshop.names import DEBIAN_IMAGE
from workshop.paths import DECK, ROOT
from workshop.presenter import deck_hook, live, plan
from workshop.presenter.view import NO_DECK, WAITING, Screen
from workshop.rehearsal import needs
from workshop.rehearsal.engine import Options, Rehearsal
from workshop.rehearsal.report import write_json

FRONT = "---\ntitle: t\nminutes: 75\n---\n"
SMALL = ROOT / "tests" / "decks" / "catch-up.md"
DECK_MODEL = deck.read(DECK)
COUNT = len(DECK_MODEL.slides)
NOTES, SCRIPTS = str(ROOT / "scripts" / "notes"), ROOT / "scripts"


def parse(body: str) -> deck.Deck:
    return deck.parse(FRONT + body, "small.md")


# ---------------------------------------------------------------- the deck reader


def test_notes_keep_their_order_and_parts_cover_the_deck():
    d = parse(
        '\n# One\n\n[part]: # "Intro; 65"\n[notes]: # "first"\n[notes]: # "second, with \\"quotes\\""\n\n'
        '---\n\n# Two\n\n---\n\n# Three\n\n[part]: # "End; 5"\n[notes]: # "last"\n'
    )
    assert [s.notes for s in d.slides] == [["first", 'second, with \\"quotes\\"'], [], ["last"]]
    assert [(p.name, p.minutes, p.first, p.last) for p in d.parts] == [("Intro", 65, 1, 2), ("End", 5, 3, 3)]
    assert [s.part.name if s.part else None for s in d.slides] == ["Intro", "Intro", "End"]
    assert all(line.startswith("#") or not line.strip() for s in d.slides for line in s.lines)


@pytest.mark.parametrize(
    "body, needle",
    [
        ("\n# A\n\n[notes]: # say it\n", 'small.md line 8 (slide 1): write a note as [notes]: # "text"'),
        ('\n# A\n\n[notes]: # ""\n', "line 8 (slide 1): a note needs some text"),
        ('\n# A\n\n[part]: # "Docker"\n', 'line 8 (slide 1): a part is written [part]: # "NAME; MINUTES"'),
        ('\n# A\n\n[part]: # "Docker; soon"\n', "line 8 (slide 1): a part is written"),
        ('\n# A\n\n[part]: # "Docker; -5"\n', "line 8 (slide 1): a part is written"),
        ('\n# A\n\n[part]: # "; 75"\n', "line 8 (slide 1): a part is written"),
        ('\n# A\n\n[part]: # "A; 70"\n[part]: # "B; 5"\n', "line 9 (slide 1): this slide already starts the part 'A'"),
        ('\n# A\n\n---\n\n# B\n\n[part]: # "B; 75"\n', "line 12 (slide 2): the parts must cover the whole deck"),
        (
            '\n# A\n\n[part]: # "A; 70"\n\n---\n\n# B\n\n[part]: # "B; 10"\n',
            "line 14 (slide 2): the parts' budgets add up to 80 minutes; a 75-minute lecture keeps 5 spare, so at most 70",
        ),
    ],
)
def test_malformed_notes_and_parts_are_one_line_naming_file_line_and_slide(body, needle):
    with pytest.raises(deck.DeckError) as caught:
        parse(body)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_the_deck_has_notes_and_a_budget_for_every_part():
    assert sum(bool(s.notes) for s in DECK_MODEL.slides) >= 6
    parts = DECK_MODEL.parts
    assert [p.name for p in parts] == ["Opening", "Docker", "The bridge", "Kubernetes", "Wrap-up"]
    assert [(p.first, p.last) for p in parts][0][0] == 1 and parts[-1].last == COUNT
    assert all(a.last + 1 == b.first for a, b in zip(parts, parts[1:], strict=False))


def test_no_note_or_budget_line_is_ever_visible(tmp_path):
    """Every slide renders exactly as the same deck without the hidden lines does, and shows none of them."""
    hidden = [line for line in DECK.read_text().splitlines() if line.startswith(("[notes]:", "[part]:"))]
    assert len(hidden) >= 10
    bare, noted = tmp_path / "slides.md", tmp_path / "noted.md"
    bare.write_text("".join(line + "\n" for line in DECK.read_text().splitlines() if line not in hidden))
    noted.write_text(DECK.read_text())
    for folder in ("docker_demo", "k8s_demo"):  # the file blocks' paths are relative to the deck
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for edited in needs.EDITED_FILES:  # both renders show one text (the machine lane edits the checkout's)
        (tmp_path / edited.path).write_text(as_committed(ROOT / edited.path))
    with_notes, without = render_deck(noted), render_deck(bare)
    assert [r.problems() for r in with_notes] == [[] for _ in with_notes]
    assert [r.screen for r in with_notes] == [r.screen for r in without]
    texts = [note[:25] for s in DECK_MODEL.slides for note in s.notes] + [p.name + ";" for p in DECK_MODEL.parts]
    for rendered in with_notes:
        shown = [text for text in texts + ["[notes]", "[part]"] if text in rendered.text]
        assert not shown, f"slide {rendered.number} shows {shown}"


# ---------------------------------------------------------------- the deck publishes its slide


def test_the_real_lookatme_tui_publishes_each_slide_change(tmp_path, monkeypatch):
    monkeypatch.setattr(lookatme.tui, "create_tui", lookatme.tui.create_tui)  # put back after the test
    small = tmp_path / "three.md"
    small.write_text(FRONT + "\n# One\n\n---\n\n# Two\n\n---\n\n# Three\n")
    state = tmp_path / "presenter.json"
    publisher = deck_hook.install(small, state)
    with open(small) as handle:
        pres = Presentation(handle, "dark", None, preload_extensions=[])
    tui = lookatme.tui.create_tui(pres)
    try:
        first = live.read(state)
        assert first is not None
        assert (first.slide, first.count, first.deck, first.pid) == (1, 3, small, os.getpid())
        assert first.started == first.first_shown[1] == first.changed
        for key, expected in (("right", 2), ("right", 3), ("right", 3), ("left", 2)):
            tui.keypress((120, 40), key)
            now = live.read(state)
            assert now is not None and now.slide == expected and now.started == first.started
        assert now is not None and sorted(now.first_shown) == [1, 2, 3]
    finally:
        tui.slide_renderer.stop()
    publisher.close()
    assert not state.exists() and live.read(state) is None


def test_a_state_file_left_by_a_deck_that_is_gone_means_no_deck(tmp_path):
    state = tmp_path / "presenter.json"
    gone = subprocess.Popen(["true"])
    gone.wait()
    state.write_text(
        json.dumps({"deck": str(DECK), "slide": 3, "count": COUNT, "changed": 1.0, "started": 1.0, "pid": gone.pid})
    )
    assert live.read(state) is None
    state.write_text('{"deck": ')
    assert live.read(state) is None


# ---------------------------------------------------------------- pace and the view


def test_the_pace_against_the_plan():
    parts = DECK_MODEL.parts
    docker = next(p for p in parts if p.name == "Docker")
    start = sum(p.minutes for p in parts[: parts.index(docker)]) * 60  # where the plan starts the part
    count = docker.last - docker.first + 1
    middle = docker.first + count // 2
    charged = [talk_clock.talk(DECK_MODEL.slide(n)).seconds for n in range(docker.first, docker.last + 1)]
    assert len(set(charged)) > 1  # slides with more to say are charged more, so the share is not even
    share = sum(charged[: middle - docker.first]) / sum(charged)
    planned = start + share * docker.minutes * 60  # the budget shared as the clock charges its slides
    elapsed = round(planned) - 150  # two and a half minutes ahead of the plan, wherever the plan puts the slide
    where = plan.pace(DECK_MODEL, middle, elapsed, {docker.first: 0.0}, 8 * 60)
    assert where is not None
    assert where.planned == pytest.approx(planned) and where.in_part == 8 * 60
    first, clock, part = plan.describe(where, "14:10")
    assert first == (
        f"part 2/{len(parts)}  Docker: {docker.minutes:g} min budget, slides {docker.first}-"
        f"{docker.last} (plan {plan.clock(start)} to {plan.clock(start + docker.minutes * 60)})"
    )
    assert clock == (
        f"time {plan.clock(elapsed)} since 14:10; the plan is at {plan.clock(planned)} on this slide: "
        f"{plan.clock(planned - elapsed)} ahead"
    )
    assert part == (
        f"in this part 8:00 used, {plan.clock(planned - start)} planned so far, "
        f"{plan.clock(docker.minutes * 60 - 480)} left"
    )
    late = plan.pace(DECK_MODEL, docker.first, 20 * 60, {}, 0.0)
    assert late is not None
    assert plan.describe(late, "14:10")[1].endswith(f"{plan.clock(20 * 60 - start)} behind")
    assert plan.verdict(20) == "on time" and plan.clock(3725) == "62:05"


def test_the_view_shows_notes_next_title_pace_and_the_last_rehearsal(tmp_path):
    small = deck.read(SMALL)
    results = Rehearsal(small, Options(slides=[2])).run()  # a real rehearsal of slide 2, judged as usual
    report = tmp_path / "last-rehearsal.json"
    write_json(report, SMALL, results, 1.0)
    now = time.time()
    state = live.Live(SMALL, 2, 4, now, now - 125, os.getpid(), {1: now - 125, 2: now - 5})
    lines = Screen(report=report).lines(state, now, 100)
    text = "\n".join(lines)
    assert lines[0] == "slide 2 / 4   A server, and a box that leaves something behind"
    assert lines[1] == "next: A server again, and a box that fails"
    assert "part 2/3  Middle: 55 min budget, slides 2-3 (plan 5:00 to 60:00)" in text
    assert "time 2:05 since" in text and "the plan is at 5:00 on this slide: 2:55 ahead" in text
    assert "  - a note on the server slide" in lines
    assert "box 1  OK" in text and "python -u -m http.server" in text
    assert "box 2  FAIL" in text  # its expect is not met: the report says so
    assert "this slide's boxes:" in text and "rehearsed just now" in text
    first = Screen(report=report).lines(live.Live(SMALL, 1, 4, now, None, os.getpid()), now, 100)
    assert "  (none" not in "\n".join(first) and "  - the second note of slide 1" in first
    assert "no boxes on this slide" in "\n".join(first)
    assert "the clock starts when slide 1 is shown" in "\n".join(first)
    last = Screen(start=now + 60, report=tmp_path / "none.json").lines(live.Live(SMALL, 3, 4, now, now, 1), now, 100)
    assert "the lecture starts in 1:00" in "\n".join(last)
    assert "no rehearsal yet" in "\n".join(last) and "  (none for this slide)" in last


def test_notes_once_with_no_deck_says_so(tmp_path):
    done = subprocess.run(
        [NOTES, "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WORKSHOP_STATE": str(tmp_path)},
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (1, NO_DECK, "")
    done = subprocess.run([NOTES, "--start", "9h"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (
        2,
        "notes: --start takes the lecture's start as HH:MM (e.g. 14:10), not '9h'\n",
    )


# ---------------------------------------------------------------- for real, in tmux


class Panes:
    """A private tmux server (its own socket) with the deck and the notes view side by side."""

    def __init__(self, state):
        self.socket, self.state = f"workshop-notes-{uuid.uuid4().hex[:8]}", state

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=20,
            env={**os.environ, "TMUX": ""},
        )
        assert done.returncode == 0, f"tmux {' '.join(args)}: {done.stderr}"
        return done.stdout

    def command(self, script: str) -> str:
        return f"cd {ROOT} && WORKSHOP_STATE={self.state} exec {SCRIPTS / script}"

    def start(self, first: str, tmp_path) -> None:
        config = tmp_path / "tmux.conf"
        config.write_text("set -g remain-on-exit on\nset -g status off\n")
        self.tmux("-f", str(config), "new-session", "-d", "-x", "241", "-y", "42", "-s", "talk", self.command(first))

    def split(self, second: str) -> None:
        self.tmux("split-window", "-h", "-l", "120", "-t", "talk:0.0", self.command(second))

    def screen(self, pane: int) -> str:
        return self.tmux("capture-pane", "-p", "-t", f"talk:0.{pane}")

    def wait_for(self, pane: int, text: str, timeout: float = 20.0) -> float:
        """Seconds until text is in the pane (asserts it comes within timeout)."""
        started = time.monotonic()
        while text not in self.screen(pane):
            assert time.monotonic() - started < timeout, f"{text!r} not in pane {pane}:\n{self.screen(pane)}"
            time.sleep(0.01)
        return time.monotonic() - started

    def kill(self) -> None:
        """Stop this test's tmux server (only it: its own socket) and remove its socket file."""
        path = subprocess.run(
            ["tmux", "-L", self.socket, "display-message", "-p", "#{socket_path}"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)
        if path:
            Path(path).unlink(missing_ok=True)


@pytest.fixture
def panes(tmp_path):
    for program in ("tmux", "expect"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed (apt-get install -y {program})")
    made = Panes(tmp_path / "state")
    yield made
    made.kill()


def check_notes(panes: Panes, number: int) -> float:
    """Wait for the notes pane to follow slide `number`; returns how long it took."""
    slide = DECK_MODEL.slide(number)
    took = panes.wait_for(1, f"slide {number} / {COUNT}   {slide.title}", timeout=5)
    screen = panes.screen(1)
    following = DECK_MODEL.slide(number + 1).title if number < COUNT else "(this is the last slide)"
    assert f"next: {following}" in screen
    assert slide.part is not None
    assert f"{slide.part.name}: {slide.part.minutes:g} min budget" in screen and "since" in screen
    for note in slide.notes:
        assert note[:40] in screen, f"slide {number}: note {note!r} is not shown:\n{screen}"
    assert "Traceback" not in screen
    return took


@pytest.mark.slow
@pytest.mark.cluster_alone  # a latency held to a bound: it waits until the class lane no longer shares the CPU
def test_the_notes_pane_follows_the_deck_within_half_a_second(panes, tmp_path, docker):
    # a real rehearsal of slide 4 first, so that its box has a timing to show
    rehearsed = subprocess.run(
        [str(SCRIPTS / "rehearse"), "--slides", "4"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "WORKSHOP_STATE": str(panes.state)},
    )
    assert rehearsed.returncode == 0, rehearsed.stdout + rehearsed.stderr
    panes.start("present", tmp_path)
    panes.split("notes")
    panes.wait_for(0, f"slide 1 / {COUNT}")
    assert panes.tmux("display-message", "-p", "-t", "talk:0.0", "#{pane_width}x#{pane_height}").strip() == "120x42"
    check_notes(panes, 1)
    latencies = []
    for key, number in [("Right", n) for n in range(2, 8)] + [("Left", 6), ("Left", 5), ("Left", 4)]:
        panes.tmux("send-keys", "-t", "talk:0.0", key)
        latencies.append(check_notes(panes, number))
        panes.wait_for(0, f"slide {number} / {COUNT}", timeout=5)  # the audience's screen moved too
    print(f"notes latency: max {max(latencies):.3f} s, mean {sum(latencies) / len(latencies):.3f} s")
    assert max(latencies) < 0.5, latencies
    on_four = panes.screen(1)
    assert "box 1  OK" in on_four and f"docker run --rm {DEBIAN_IMAGE}" in on_four
    assert "this slide's boxes:" in on_four
    deck_screen = panes.screen(0)
    assert not any(note[:25] in deck_screen for note in DECK_MODEL.slide(4).notes)
    assert "[notes]" not in deck_screen and "[part]" not in deck_screen
    panes.tmux("send-keys", "-t", "talk:0.0", "q")  # the deck ends: the view waits again
    panes.wait_for(1, WAITING, timeout=5)


@pytest.mark.slow
def test_with_no_deck_the_notes_view_waits_then_follows_one(panes, tmp_path):
    panes.start("notes", tmp_path)
    panes.wait_for(0, WAITING)
    time.sleep(1)
    assert WAITING in panes.screen(0) and "Traceback" not in panes.screen(0)  # still waiting, still fine
    panes.tmux("split-window", "-h", "-b", "-l", "120", "-t", "talk:0.0", panes.command("present"))  # deck left
    panes.wait_for(1, f"slide 1 / {COUNT}")
    panes.tmux("send-keys", "-t", "talk:0.0", "q")
    panes.wait_for(1, WAITING, timeout=5)
    assert "Traceback" not in panes.screen(1) and not (panes.state / "presenter.json").exists()
    deadline = time.monotonic() + 5  # scripts/present itself ended, and well
    while panes.tmux("display-message", "-p", "-t", "talk:0.0", "#{pane_dead}").strip() != "1":
        assert time.monotonic() < deadline, "scripts/present is still running after q"
        time.sleep(0.1)
    assert panes.tmux("display-message", "-p", "-t", "talk:0.0", "#{pane_dead_status}").strip() in ("0", "")


def test_a_deck_with_parts_says_its_slot_in_its_front_matter():
    body = '\n# A\n\n[part]: # "A; 50"\n'
    assert deck.parse(FRONT.replace("minutes: 75", "minutes: 60") + body, "small.md").minutes == 60
    for front in (FRONT.replace("minutes: 75\n", ""), FRONT.replace("minutes: 75", "minutes: soon")):
        with pytest.raises(deck.DeckError) as caught:
            deck.parse(front + body, "small.md")
        assert "add `minutes: 75` to the front matter" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(deck.DeckError, match="a 50-minute lecture keeps 5 spare, so at most 45"):
        deck.parse(FRONT.replace("minutes: 75", "minutes: 50") + body, "small.md")


def test_a_slide_lookatme_queues_twice_keeps_its_first_render_and_its_terminals():
    """lookatme queues every slide at start and again when one is shown before its turn; rendered twice,
    a slide came back with new, idle terminals while the first ones (a server started there) ran on
    unseen, holding its port: the fresh-clone CI's TUI walk met it on slide 2 given again."""
    import io

    import lookatme.config
    import lookatme.contrib.terminal
    import lookatme.log
    import lookatme.tui
    from lookatme.pres import Presentation

    from workshop.presenter import boxes, deck_hook

    text = FRONT.replace("---\n", "---\nextensions: [terminal]\n", 1) + (
        "\n# One\n\n```terminal-ex\ncommand: bash --norc\nrows: 3\ninit_text: echo hi\n"
        "init_wait: '$ '\ninit_codeblock: false\n```\n"
    )
    lookatme.config.LOG = lookatme.log.create_null_log()
    pres = Presentation(io.StringIO(text), "dark", None, preload_extensions=["terminal"])
    keeper = boxes.Keeper(deck.parse(text, "small.md"))
    deck_hook._track_terminals(keeper)
    renderer = lookatme.tui.SlideRenderer(loop=None)
    try:
        first = renderer.do_render(pres.slides[0], 0)
        renderer.cache[0] = first  # as lookatme's renderer thread stores it
        made, kept = len(lookatme.contrib.terminal.CREATED_TERMS), list(keeper.terms[1])
        assert made > 0 and kept
        assert renderer.do_render(pres.slides[0], 0) is first
        assert len(lookatme.contrib.terminal.CREATED_TERMS) == made and keeper.terms[1] == kept
    finally:
        lookatme.contrib.terminal.shutdown()
