"""Does the deck fit? On screen: every box's key lines are inside its borders when the class reads
them. In time: every part of the lecture fits its budget by an honest clock.

Fit. Each box's committed recording (recordings/ID.cast, after the box's id) is played into the same
terminal emulator lookatme's box uses (urwid's vterm), at the width lookatme draws the box at
120 columns and the box's own `rows`; long lines wrap as they do there. The screen is taken
when the command has finished (the prompt is back), or, for a `ready:` box, the moment its
ready line appears. Every line one of the box's `expect:` patterns (or its `ready:` pattern)
matches, as rehearsal matches them, must still be on that screen, not scrolled away above it.

Time. The honest clock charges each slide what a presenter takes to give it, from its words, listed
code, notes and live boxes (deck/clock.py, fitted to a reviewer's per-slide estimate), and adds each
box's machine time as recorded (Enter to the prompt, or to the ready line). Each part must fit the
minutes its [part] line gives it, and the lecture its slot (`minutes:` in the deck's front matter) with SPARE_MINUTES left for
questions and a box that has to be run again. What does not fit goes to the extras deck."""

import re
from dataclasses import dataclass
from pathlib import Path

import urwid.vterm

from workshop.cli import WorkshopError
from workshop.deck import clock, directives as directive_rules, reader
from workshop.deck.geometry import box_columns
from workshop.names import PROMPT
from workshop.paths import RECORDINGS, recordings_for
from workshop.rehearsal import recordings
from workshop.rehearsal.terminal import plain

SPARE_MINUTES = float(directive_rules.SPARE_MINUTES)


class RecordingProblem(WorkshopError):
    """A box has no recording, or one of another command, or one that never finishes."""


class _BoxWidget:
    """What urwid's TermCanvas asks of the widget around it: nothing that matters here."""

    term_modes = urwid.vterm.TermModes()

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


@dataclass
class Played:
    """A box's recording played up to the moment that counts."""

    screen: list[str]  # the box's rows at that moment
    output: str  # what rehearsal judges: the plain output after the command line
    seconds: float  # from the enter marker to that moment


def record_hint(box: reader.Box, folder: Path) -> str:
    """The command that makes this box's recording again."""
    deck = "" if folder == RECORDINGS else f" --deck {folder.name}.md"
    return f"scripts/record{deck} --slides {box.slide}"


def play(box: reader.Box, width: int, folder: Path = RECORDINGS) -> Played:
    path = folder / recordings.cast_name(box)
    if not path.exists():
        raise RecordingProblem(
            f"{box.label}: no recording {path.name} in {folder.name}/; make it with {record_hint(box, folder)}"
        )
    header, events = recordings.load(path)
    if header.get("title") != box.typed:
        raise RecordingProblem(
            f"{box.label}: {path.name} records `{header.get('title')}`, not `{box.typed}`; "
            f"record it again with {record_hint(box, folder)}"
        )
    canvas = urwid.vterm.TermCanvas(width, box.rows, _BoxWidget())
    entered, typed, moment = None, "", None
    for at, kind, data in events:
        if kind == "m" and data == "enter":
            entered = at
            continue
        if kind != "o":
            continue
        canvas.addstr(data.encode("utf-8"))
        if entered is None:
            continue
        typed += data
        if _done(box, plain(typed)):
            moment = at
            break
    if entered is None or moment is None:
        raise RecordingProblem(
            f"{box.label}: {path.name} never shows the command finishing "
            f"({'its ready line' if box.directives.ready else 'the prompt coming back'})"
        )
    return Played([row.decode("utf-8", "replace") for row in canvas.text], _judged(plain(typed)), moment - entered)


def _done(box: reader.Box, text: str) -> bool:
    if box.directives.ready:
        return re.search(box.directives.ready, text, re.MULTILINE) is not None
    return recordings.output_span(text)[1] >= 0


def _judged(text: str) -> str:
    """The output as rehearsal's judge reads it: after the echoed command line, without the prompt."""
    start, end = recordings.output_span(text)
    return text[start:] if end < 0 else text[start:end]


def key_lines(box: reader.Box, output: str) -> list[tuple[str, str]]:
    """(pattern, line) for every output line one of the box's checks matches (a match over several
    lines counts each of them); a pattern that matches nothing gives (pattern, '')."""
    patterns = list(box.directives.expect) + ([box.directives.ready] if box.directives.ready else [])
    found = []
    for pattern in patterns:
        matches = list(re.finditer(pattern, output, re.MULTILINE))
        if not matches:
            found.append((pattern, ""))
        for match in matches:
            start = output.rfind("\n", 0, match.start()) + 1
            end = output.find("\n", max(match.end() - 1, match.start()))
            for line in output[start : None if end < 0 else end].split("\n"):
                if line.strip():
                    found.append((pattern, line))
    return found


def misfits(deck: reader.Deck, folder: Path | None = None) -> list[str]:
    """One sentence per key line that is not on its box's screen when the class reads it."""
    folder = folder or recordings_for(deck.path)
    width = box_columns(deck.meta)
    problems = []
    for box in deck.boxes():
        if not box.typed:
            continue
        played = play(box, width, folder)
        shown = "".join(row.ljust(width) for row in played.screen)
        if not box.directives.ready and PROMPT + box.typed not in shown:
            problems.append(
                f"{box.label} (`{box.typed[:60]}`): its typed command has scrolled out of the {box.rows}-row box "
                "by the time the prompt is back: give it more rows or a narrower output"
            )
        for pattern, line in key_lines(box, played.output):
            if not line:
                problems.append(
                    f"{box.label}: its recording has no line matching {pattern!r}; "
                    f"record it again with {record_hint(box, folder)}"
                )
            elif line.expandtabs().rstrip() not in shown:
                problems.append(
                    f"{box.label} (`{box.typed[:60]}`): `{line.strip()[:70]}` (for {pattern!r}) has "
                    f"scrolled out of the {box.rows}-row box: give it more rows or a narrower output"
                )
    return problems


@dataclass
class SlidePlan:
    number: int
    title: str
    talk: clock.Talk
    machine: float  # seconds its boxes' recordings take, Enter to the prompt or ready line

    @property
    def minutes(self) -> float:
        return (self.talk.seconds + self.machine) / 60


@dataclass
class PartPlan:
    name: str
    slides: list[SlidePlan]
    budget: float  # minutes its [part] line gives it

    @property
    def boxes(self) -> int:
        return sum(s.talk.boxes for s in self.slides)

    @property
    def machine(self) -> float:
        return sum(s.machine for s in self.slides)

    @property
    def minutes(self) -> float:
        """The honest clock: each slide charged what a presenter takes to give it, plus the machine's time."""
        return sum(s.minutes for s in self.slides)


def slide_plan(deck: reader.Deck, number: int, folder: Path, width: int) -> SlidePlan:
    slide = deck.slide(number)
    machine = sum(play(box, width, folder).seconds for box in slide.boxes if box.typed)
    return SlidePlan(number, slide.title, clock.talk(slide, deck.path.parent), machine)


def plan(deck: reader.Deck, folder: Path | None = None) -> list[PartPlan]:
    """Each part's slides by the honest clock, from the deck and its boxes' recordings."""
    folder = folder or recordings_for(deck.path)
    width = box_columns(deck.meta)
    return [
        PartPlan(
            part.name, [slide_plan(deck, n, folder, width) for n in range(part.first, part.last + 1)], part.minutes
        )
        for part in deck.parts
    ]


def over_budget(
    deck: reader.Deck, folder: Path | None = None, lecture: float | None = None, spare: float = SPARE_MINUTES
) -> list[str]:
    """One sentence per way the deck overruns its plan (in its own slot, unless lecture says another);
    [] when it fits with the spare minutes left."""
    return overruns(plan(deck, folder), lecture or deck.minutes, spare)


def overruns(parts: list[PartPlan], lecture: float, spare: float = SPARE_MINUTES) -> list[str]:
    """over_budget for a plan already made."""
    problems = [
        f"part {p.name!r} needs {p.minutes:.1f} min ({len(p.slides)} slides, {p.boxes} boxes, "
        f"{p.machine:.0f} s of machine time) but its [part] line gives it {p.budget:g}"
        for p in parts
        if p.minutes > p.budget
    ]
    needed = sum(p.minutes for p in parts)
    if needed > lecture - spare:
        problems.append(
            f"the lecture needs {needed:.1f} min by the honest clock; {lecture:g} min with {spare:g} "
            f"to spare allows {lecture - spare:g}: move slides to the extras deck"
        )
    budgeted = sum(p.budget for p in parts)
    if budgeted > lecture - spare:
        problems.append(
            f"the [part] lines give {budgeted:g} min; {lecture:g} min with {spare:g} to spare allows "
            f"{lecture - spare:g}"
        )
    return problems


def describe(deck: reader.Deck, folder: Path | None = None) -> list[str]:
    """The plan as a table: minutes per part by the honest clock, against each part's budget."""
    parts = plan(deck, folder)
    lines = [f"{'part':<14} {'slides':>6} {'boxes':>5} {'machine':>8} {'needs':>7} {'budget':>7}"]
    for p in parts:
        lines.append(
            f"{p.name:<14} {len(p.slides):>6} {p.boxes:>5} {p.machine:>7.0f}s {p.minutes:>6.1f}m {p.budget:>6g}m"
            + ("  OVER" if p.minutes > p.budget else "")
        )
    needed, budgeted = sum(p.minutes for p in parts), sum(p.budget for p in parts)
    lines.append(
        f"{'total':<14} {sum(len(p.slides) for p in parts):>6} {sum(p.boxes for p in parts):>5} "
        f"{sum(p.machine for p in parts):>7.0f}s {needed:>6.1f}m {budgeted:>6g}m  "
        f"(a {deck.minutes:g}-minute lecture keeps {SPARE_MINUTES:g} spare: {deck.minutes - needed:.1f} "
        f"min left)"
    )
    return lines
