"""The rehearsal in the real TUI: the unchanged scripts/present in a private tmux at 120x40, given
with the presenter's keys only (Right, Down, Enter, Ctrl-a), and every box judged by the screen.

A box passes when, after Enter, its typed command and every `expect:`/`ready:` line of its
directives are on the screen inside that box's borders, no `reject:` line or error is, and (for a
command that ends) the box is back at its prompt. Nothing else is pressed: what a slide's boxes
still run when the walk moves on is stopped by the deck itself (presenter/boxes.py), as it is
for a presenter. Every screen is kept under the artifacts folder.

Some slides are given twice, as when a class asks to see one again: after its boxes, Left and
Right bring it back, and every box must show its command typed again at a fresh prompt; then
Down must give the keys to the slide's first box, whose command runs again and is judged again.
By default these are the slides with a long-running box (a server, a port-forward, a watch):
the ones a presenter goes back to, since leaving them stopped what they ran."""

import os
import re
import shlex
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.deck.geometry import MIN_COLS, MIN_ROWS
from workshop.deck.reader import Box, Deck
from workshop.machine import processes
from workshop.machine.tmux import Tmux
from workshop.paths import ROOT, state_dir
from workshop.rehearsal import needs, screen as screens
from workshop.rehearsal.engine import StepResult

SETTLE = 0.25  # seconds between two looks at the screen
START_TIMEOUT = 30.0  # the deck's first slide on screen (first use builds nothing: the venv exists)
SHELL_TIMEOUT = 25.0  # a slide's boxes started and their commands typed
FOCUS_TRIES = 6


@dataclass
class Walk:
    deck: Deck
    replay: Path | None = None  # a folder of recordings: scripts/present --replay DIR
    slides: list[int] | None = None  # only these slides' boxes get Enter (the walk passes all)
    without: list[str] = field(default_factory=list)
    artifacts: Path | None = None
    report: Callable[[StepResult], None] = lambda result: None
    present: str = "scripts/present"  # the command given in the terminal (tests name another deck)
    again: list[int] | None = None  # slides given twice (None: those with a long-running box)

    def given_twice(self, slide) -> bool:
        if self.again is not None:
            return slide.number in self.again
        return slide.number > 1 and any(box.typed and box.directives.long_running for box in slide.boxes)


@dataclass
class DeckEnded:
    status: str
    signal: str
    stderr: str
    screen: str

    def lines(self) -> list[str]:
        how = f"signal {self.signal}" if self.signal else f"exit status {self.status or 'unknown'}"
        out = [f"the deck itself ended ({how}); its last screen and stderr are kept"]
        out += [f"stderr | {line}" for line in self.stderr.rstrip().splitlines()[-12:]]
        out += [f"screen | {line.rstrip()}" for line in self.screen.rstrip().splitlines()[-12:]]
        return out


class Rehearsal:
    def __init__(self, walk: Walk):
        self.walk = walk
        self.deck = walk.deck
        self.count = len(self.deck.slides)
        name = "tui-rehearsal-replay" if walk.replay else "tui-rehearsal"
        self.folder = walk.artifacts or state_dir("artifacts", name)
        self.tmux = Tmux(f"workshop-tui-{os.getpid()}-{uuid.uuid4().hex[:6]}", MIN_COLS, MIN_ROWS)
        self.results: list[StepResult] = []
        self.slide_seconds: dict = {}
        self.ended: DeckEnded | None = None
        self.slide_problems: list[str] = []  # what is wrong on a slide outside any box
        self.stderr_file = self.folder / "deck-stderr.txt"
        self.place: int | None = None  # the focused box's index among the boxes on screen
        self.running_again = False  # judging a box run a second time: its output is below the last command

    # -- the walk ------------------------------------------------------------------------------
    def run(self) -> list[StepResult]:
        for old in list(self.folder.glob("*.txt")):
            old.unlink()
        args = f" --replay={shlex.quote(str(self.walk.replay))}" if self.walk.replay else ""
        line = (
            f"cd {shlex.quote(str(ROOT))} && exec {self.walk.present}{args} "
            f"2> >(tee {shlex.quote(str(self.stderr_file))} >&2)"
        )
        self.tmux.start(f"bash -c {shlex.quote(line)}", self.folder)
        deck_pid = self.tmux.pane().pid
        try:
            self._until(lambda s: self._footer(1) in s, START_TIMEOUT, "the deck's first slide")
            for number in range(1, self.count + 1):
                if number > 1:
                    self.tmux.keys("Right")
                started = time.monotonic()
                if not self._slide(number):
                    break
                self.slide_seconds[number] = round(time.monotonic() - started, 3)
            if self.ended is None:
                self._quit()
        finally:
            self._keep("last", self._screen_or(""))
            self.tmux.kill()  # the deck, if still running, cleans up on SIGHUP
            processes.wait_gone(deck_pid, 30)
        return self.results

    def _slide(self, number: int) -> bool:
        slide = self.deck.slide(number)
        try:
            shown = self._until(lambda s: self._footer(number) in s, 15, f"slide {number}")
        except _Gone:
            return self._deck_ended(slide.boxes)
        except _Late as late:
            self._keep(f"slide-{number:02d}", late.screen)
            self.slide_problems.append(f"slide {number}: {late}")
            return False
        wanted = [box for box in slide.boxes if box.typed]
        try:  # every box of the slide started and its command typed (in replay too)
            shown = self._until(
                lambda s: all(self._located(s, box) for box in wanted),
                SHELL_TIMEOUT,
                f"the boxes of slide {number} to show their commands",
            )
        except _Gone:
            return self._deck_ended(slide.boxes)
        except _Late:
            pass  # each box is judged, and fails, on its own below
        self._keep(f"slide-{number:02d}", shown)
        bad = [e for e in screens.DECK_ERRORS if e in screens.outside(shown)]
        if bad:
            self.slide_problems.append(f"slide {number} shows {bad[0]!r}")
        for box in slide.boxes:
            if not self._box(box):
                return False
        if self.walk.given_twice(slide) and not any(self._skip(box) for box in slide.boxes):
            return self._again(slide)
        return True

    def _again(self, slide) -> bool:
        """The slide given a second time: away and back, every command typed again, Down to its first box."""
        number = slide.number
        self.tmux.keys("Left")
        try:
            self._until(lambda s: self._footer(number - 1) in s, 15, f"slide {number - 1}")
            self.tmux.keys("Right")
            self._until(lambda s: self._footer(number) in s, 15, f"slide {number} again")
            wanted = [box for box in slide.boxes if box.typed]
            shown = self._until(
                lambda s: all(self._typed_again(s, box) for box in wanted),
                SHELL_TIMEOUT,
                f"every box of slide {number}, given again, to show its command typed again",
            )
        except _Gone:
            return self._deck_ended([])
        except _Late as late:
            self._keep(f"slide-{number:02d}-again", late.screen)
            self.slide_problems.append(f"slide {number} given again: {late}")
            return True
        self._keep(f"slide-{number:02d}-again", shown)
        first = wanted[0]
        self.tmux.keys("Down")
        pane, found = self.tmux.pane(), self._typed_again(self._screen(), first)
        if found is None or not pane.cursor_shown or not found.holds(*pane.cursor):
            self.slide_problems.append(f"slide {number} given again: Down did not give the keys to its first box")
            self.tmux.keys("C-a")
            return True
        self.tmux.keys("C-a")  # _box gives the keys back and takes them again with Down
        self.running_again = True
        try:
            return self._box(first, again=True)
        finally:
            self.running_again = False

    def _typed_again(self, shown: str, box: Box) -> screens.ScreenBox | None:
        """This box on the screen with its command typed at the prompt on its last row, not yet run."""
        return self._located(shown, box, screens.typed_last)

    def _box(self, box: Box, again: bool = False) -> bool:
        skip = self._skip(box)
        if skip:
            result = StepResult(box, ok=True, skipped=skip, left_out=skip.startswith("needs "))
            self._record(result)
            return True
        started = time.monotonic()
        result = StepResult(box, ok=False)
        try:
            self._focus(box)
            time.sleep(box.directives.pause)  # the presenter's, before a box that reads settled state
            self.tmux.keys("Enter")
            result.problem, shown = self._judge(box)
            result.ok = not result.problem
            result.output = self._inside(shown, box)
            if not result.ok:
                fix = needs.explain_failure(box, result.output)
                result.details = [fix] if fix else []
            self._keep(f"slide-{box.slide:02d}-box-{box.position}{'-again' if again else ''}", shown)
        except _Gone:
            result.problem = "the deck ended while this box ran"
            result.seconds = time.monotonic() - started
            self._record(result)
            return self._deck_ended([])
        except _Late as late:
            result.problem = str(late)
            self._keep(f"slide-{box.slide:02d}-box-{box.position}", late.screen)
        result.seconds = time.monotonic() - started
        self.tmux.keys("C-a")
        self._record(result)
        return True

    def _skip(self, box: Box) -> str:
        if not box.typed:
            return "a bare shell: nothing is typed in it"
        if self.walk.slides and box.slide not in self.walk.slides:
            return "not among the chosen slides"
        missing = sorted(set(box.directives.needs) & set(self.walk.without))
        return f"needs {', '.join(missing)}" if missing else ""

    # -- one box: focus it, then read the screen until it is judged ----------------------------
    def _focus(self, box: Box) -> None:
        """Down (the previous box was let go with Ctrl-a) until the cursor is in this box's prompt."""
        self.place = None
        for _ in range(FOCUS_TRIES):
            self.tmux.keys("Down")
            shown = self._screen()
            found = self._located(shown, box)
            pane = self.tmux.pane()
            if found is not None and pane.cursor_shown and found.holds(*pane.cursor):
                self.place = [b.top for b in screens.boxes(shown)].index(found.top)
                return
        raise _Late(f"Down did not give this box the keys ({FOCUS_TRIES} tries)", self._screen_or(""))

    def _judge(self, box: Box):
        """('', screen) once the box shows what it must; (why, screen) when its time is up."""
        rules = box.directives
        deadline = time.monotonic() + rules.timeout + 10
        while True:
            shown = self._screen()
            why = self._verdict(shown, box)
            if not why:
                time.sleep(SETTLE)  # the screen has settled: read it once more
                shown = self._screen()
                why = self._verdict(shown, box)
                if not why:
                    return "", shown
            if "scrolled out" in why:  # it will not come back
                return why, shown
            if time.monotonic() > deadline or self._ended_here(shown, box):
                time.sleep(1)  # ended: one last look, for output still on its way
                shown = self._screen()
                return self._verdict(shown, box), shown
            time.sleep(SETTLE)

    def _verdict(self, shown: str, box: Box) -> str:
        """What is still missing or wrong on this screen for this box ('' when it passes)."""
        outside = [e for e in screens.DECK_ERRORS if e in screens.outside(shown)]
        if outside:
            return f"shows {outside[0]!r} outside the boxes"
        found = self._located(shown, box) or self._placed(shown)
        if found is None:
            return "the box is not on the screen"
        text, rules = screens.output(found, box.typed or "", self.running_again), box.directives
        on_purpose = rules.fails or rules.exit
        errors = [] if on_purpose else [e for e in screens.BOX_ERRORS if e.lower() in text.lower()]
        errors += [p for p in rules.reject if re.search(p, text, re.MULTILINE)]
        if errors:
            return f"shows {errors[0]!r} inside the box"
        for pattern in rules.expect + ((rules.ready,) if rules.ready else ()):
            if not re.search(pattern, text, re.MULTILINE):
                return f"no line matching {pattern!r} inside the box"
        if not rules.long_running and not found.at_prompt():
            return "the command has not ended (the box is not back at its prompt)"
        if not self._shows(found, box.typed or ""):
            return f"its typed command `{box.typed}` scrolled out of the box"
        return ""

    def _ended_here(self, shown: str, box: Box) -> bool:
        found = self._located(shown, box) or self._placed(shown)
        return found is not None and found.at_prompt() and len(found.text.splitlines()) > 1

    def _placed(self, shown: str) -> screens.ScreenBox | None:
        """The box where the cursor was when it got the keys (its command may have scrolled away since)."""
        on_screen = screens.boxes(shown)
        return on_screen[self.place] if self.place is not None and self.place < len(on_screen) else None

    def _located(self, shown: str, box: Box, shows=None) -> screens.ScreenBox | None:
        """This box on the screen: the slide's boxes appear in deck order, each showing its command (as
        `shows` sees it: by default anywhere in the box)."""
        shows = shows or self._shows
        earlier = sum(1 for b in self.deck.slide(box.slide).boxes if b.position < box.position and b.typed == box.typed)
        matches = [b for b in screens.boxes(shown) if shows(b, box.typed or "")]
        return matches[earlier] if len(matches) > earlier else None

    def _shows(self, found: screens.ScreenBox, typed: str) -> bool:
        """The box shows this command (run a second time: typed again after its first run, ^C and all)."""
        return screens.typed_rows(found, typed, self.running_again) is not None

    def _inside(self, shown: str, box: Box) -> str:
        found = self._located(shown, box) or self._placed(shown)
        return found.text if found else ""

    # -- the deck's screen and its end ---------------------------------------------------------
    def _footer(self, number: int) -> str:
        return f"slide {number} / {self.count}"

    def _screen(self) -> str:
        pane = self.tmux.pane()
        if pane.dead:
            raise _Gone()
        return self.tmux.screen()

    def _screen_or(self, default: str) -> str:
        try:
            return self.tmux.screen()
        except WorkshopError:
            return default

    def _until(self, done: Callable[[str], object], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self._screen()
            if done(shown):
                return shown
            if time.monotonic() > deadline:
                raise _Late(f"{what} did not appear within {timeout:g} s", shown)
            time.sleep(SETTLE / 2)

    def _deck_ended(self, boxes: list[Box]) -> bool:
        pane = self.tmux.pane()
        for _ in range(20):  # tmux marks the pane dead a moment before its status
            if pane.status or pane.signal:
                break
            time.sleep(0.1)
            pane = self.tmux.pane()
        try:
            stderr = self.stderr_file.read_text(errors="replace")
        except OSError:
            stderr = ""
        self.ended = DeckEnded(pane.status, pane.signal, stderr, self._screen_or(""))
        for box in boxes:
            if box.typed and not self._skip(box):
                self._record(StepResult(box, False, problem="the deck ended before this box ran"))
        return False

    def _quit(self) -> None:
        self.tmux.keys("q")  # every box was let go with Ctrl-a already
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not self.tmux.pane().dead:
            time.sleep(0.1)

    def _keep(self, name: str, shown: str) -> None:
        (self.folder / f"{name}.txt").write_text(shown)

    def _record(self, result: StepResult) -> None:
        self.results.append(result)
        self.walk.report(result)


class _Gone(Exception):
    """The deck's pane is dead: scripts/present ended."""


class _Late(Exception):
    def __init__(self, message: str, screen: str):
        super().__init__(message)
        self.screen = screen
