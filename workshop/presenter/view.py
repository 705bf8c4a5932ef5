"""The notes view: what scripts/notes shows in the presenter's second terminal, redrawn as the
live deck changes slides (it polls the deck's state file every POLL seconds) and once a second
for the clock. Plain text with a few ANSI codes; no key is read, Ctrl-C ends it."""

import shutil
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.deck import reader
from workshop.presenter import live as live_state, plan, timings

POLL = 0.05
NO_DECK = "no deck is running: start scripts/present in another terminal or pane"
WAITING = NO_DECK + "; waiting for it (Ctrl-C quits)"


class _Cached:
    """A file's parsed contents, parsed again only when the file changes."""

    def __init__(self, load: Callable[[Path], object]):
        self.load = load
        self.seen: dict[Path, tuple[int, object]] = {}

    def get(self, path: Path):
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = -1
        if path not in self.seen or self.seen[path][0] != stamp:
            self.seen[path] = (stamp, self.load(path))
        return self.seen[path][1]


def _read_deck(path: Path):
    try:
        return reader.read(path)
    except WorkshopError as error:  # shown on the screen; the view keeps following
        return str(error)


class Screen:
    """Composes the lines of the view from the live state, the deck and the last rehearsal."""

    def __init__(self, start: float | None = None, report: Path | None = None):
        self.start = start  # --start: overrides "when slide 1 was first shown"
        self.decks = _Cached(_read_deck)
        self.reports = _Cached(timings.load)
        self.report_path = report or timings.last_rehearsal()

    def lines(self, live: live_state.Live | None, now: float, width: int) -> list[str]:
        if live is None:
            return [WAITING]
        deck = self.decks.get(live.deck)
        if isinstance(deck, str):
            return [f"slide {live.slide} / {live.count}", f"the deck cannot be read: {deck}"]
        if not 1 <= live.slide <= len(deck.slides):
            return [
                f"slide {live.slide} / {live.count}: {live.deck.name} has {len(deck.slides)} slides "
                "now; restart scripts/present"
            ]
        slide = deck.slide(live.slide)
        following = deck.slide(live.slide + 1).title if live.slide < len(deck.slides) else "(this is the last slide)"
        out = [f"slide {live.slide} / {live.count}   {slide.title}", f"next: {following}", ""]
        out += self.pace(deck, live, now) + ["", "notes:"]
        out += [
            line
            for note in slide.notes
            for line in textwrap.wrap(note, max(width - 4, 20), initial_indent="  - ", subsequent_indent="    ")
        ]
        if not slide.notes:
            out.append("  (none for this slide)")
        out += ["", "last rehearsal:"]
        report = self.reports.get(self.report_path)
        out += ["  " + line for line in timings.describe(report, live.deck, slide.number, len(slide.boxes), now)]
        return out

    def pace(self, deck: reader.Deck, live: live_state.Live, now: float) -> list[str]:
        started = self.start if self.start is not None else live.started
        if started is None:
            return ["the clock starts when slide 1 is shown (or give --start HH:MM)"]
        if started > now:
            at = time.strftime("%H:%M", time.localtime(started))
            return [f"the lecture starts in {plan.clock(started - now)} (at {at})"]
        where = plan.pace(deck, live.slide, now - started, live.first_shown, now)
        since = time.strftime("%H:%M", time.localtime(started))
        if where is None:
            return [f"time {plan.clock(now - started)} since {since}; the deck has no [part] budget lines"]
        return plan.describe(where, since)


def draw(lines: list[str], size: tuple[int, int], out) -> None:
    columns, rows = size
    body = [line[: columns - 1] for line in lines[:rows]]
    out.write("\x1b[H" + "".join(f"{line}\x1b[K\n" for line in body[:-1]) + f"{body[-1]}\x1b[K\x1b[J")
    out.flush()


def follow(start: float | None = None, out=sys.stdout) -> None:
    """Redraw the view whenever it changes, until Ctrl-C."""
    screen, shown = Screen(start), None
    out.write("\x1b[?25l\x1b[2J")  # hide the cursor, clear the screen
    try:
        while True:
            columns, rows = shutil.get_terminal_size()
            size = (columns, rows)
            lines = screen.lines(live_state.read(), time.time(), size[0])
            if (lines, size) != shown:
                draw(lines, size, out)
                shown = (lines, size)
            time.sleep(POLL)
    finally:
        out.write("\x1b[?25h\n")
        out.flush()


def once(start: float | None = None) -> tuple[bool, list[str]]:
    """The view as it is now, for a script or a test: (is a deck running, its lines)."""
    current = live_state.read()
    if current is None:
        return False, [NO_DECK]
    return True, Screen(start).lines(current, time.time(), shutil.get_terminal_size()[0])
