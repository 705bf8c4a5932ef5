"""The deck as the class sees it: every box's key lines are on screen, and every part of the
lecture fits the minutes its [part] line gives it.

Fit. Each box's committed recording (recordings/slide-NN-box-M.cast) is played into the same
terminal emulator lookatme's box uses (urwid's vterm), at the width lookatme draws the box at
120 columns and the box's own `rows`; long lines wrap as they do there. The screen is taken
when the command has finished (the prompt is back), or, for a `ready:` box, the moment its
ready line appears. Every line one of the box's `expect:` patterns (or its `ready:` pattern)
matches, as rehearsal matches them, must still be on that screen, not scrolled away above it.

Time. Per part, the boxes' recorded durations (from the `enter` marker to the prompt coming
back, or to the ready line) plus a speaking allowance per slide must stay inside the part's
budget. The allowance, SPEAKING_MINUTES_PER_SLIDE, is 1.5 minutes: the deck's slides carry
one idea each (a paragraph or a file of about 30 lines, or one to four boxes), which takes a
minute to say and leaves half a minute for a question or for pressing Down and Enter; over the
deck's 40-odd slides that is about an hour of talk, the rest of 75 minutes being the boxes and
slack for questions. A box that waits (a cold build, a rollout) counts at its recorded length.
"""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import urwid.vterm

from workshop.deck import reader
from workshop.deck.geometry import box_columns
from workshop.rehearsal import recordings
from workshop.rehearsal.terminal import PROMPT_AT_END, plain
from workshop.paths import DECK, ROOT

RECORDINGS = ROOT / "recordings"
SPEAKING_MINUTES_PER_SLIDE = 1.5


class _BoxWidget:
    """What urwid's TermCanvas asks of the widget around it: nothing that matters here."""
    term_modes = urwid.vterm.TermModes()

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


@dataclass
class Played:
    """A box's recording played up to the moment that counts."""
    screen: List[str]              # the box's rows at that moment
    output: str                    # what rehearsal judges: the plain output after the command line
    seconds: float                 # from the enter marker to that moment


def play(box: reader.Box, width: int, folder: Path = RECORDINGS) -> Played:
    path = folder / recordings.cast_name(box)
    if not path.exists():
        raise AssertionError(f"{box.label}: no recording {path.name}; make it with scripts/record --slides {box.slide}")
    header, events = recordings.load(path)
    if header.get("title") != box.typed:
        raise AssertionError(f"{box.label}: {path.name} records `{header.get('title')}`, not `{box.typed}`; "
                             f"record it again with scripts/record --slides {box.slide}")
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
        raise AssertionError(f"{box.label}: {path.name} never shows the command finishing "
                             f"({'its ready line' if box.directives.ready else 'the prompt coming back'})")
    return Played([row.decode("utf-8", "replace") for row in canvas.text], _judged(plain(typed)),
                  moment - entered)


def _done(box: reader.Box, text: str) -> bool:
    if box.directives.ready:
        return re.search(box.directives.ready, text, re.MULTILINE) is not None
    _, newline, rest = text.partition("\n")
    return bool(newline) and PROMPT_AT_END.search(rest) is not None


def _judged(text: str) -> str:
    """The output as rehearsal's judge reads it: after the echoed command line, without the prompt."""
    rest = text.partition("\n")[2]
    match = PROMPT_AT_END.search(rest)
    return rest[:match.start()] if match else rest


def key_lines(box: reader.Box, output: str) -> List[Tuple[str, str]]:
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
            for line in output[start:None if end < 0 else end].split("\n"):
                if line.strip():
                    found.append((pattern, line))
    return found


def misfits(deck: reader.Deck, folder: Path = RECORDINGS) -> List[str]:
    """One sentence per key line that is not on its box's screen when the class reads it."""
    width = box_columns(deck.meta)
    problems = []
    for box in deck.boxes():
        if not box.typed:
            continue
        played = play(box, width, folder)
        shown = "".join(row.ljust(width) for row in played.screen)
        for pattern, line in key_lines(box, played.output):
            if not line:
                problems.append(f"{box.label}: its recording has no line matching {pattern!r}; "
                                f"record it again with scripts/record --slides {box.slide}")
            elif line.expandtabs().rstrip() not in shown:
                problems.append(f"{box.label} (`{box.typed[:60]}`): `{line.strip()[:70]}` (for {pattern!r}) has "
                                f"scrolled out of the {box.rows}-row box: give it more rows or a narrower output")
    return problems


def minutes_per_part(deck: reader.Deck, folder: Path = RECORDINGS) -> Dict[str, Tuple[float, float]]:
    """part name -> (minutes needed: speaking allowance + recorded boxes, minutes budgeted)."""
    width = box_columns(deck.meta)
    needed = {}
    for part in deck.parts:
        slides = [deck.slide(n) for n in range(part.first, part.last + 1)]
        seconds = sum(play(box, width, folder).seconds for slide in slides for box in slide.boxes if box.typed)
        needed[part.name] = (len(slides) * SPEAKING_MINUTES_PER_SLIDE + seconds / 60, part.minutes)
    return needed


def over_budget(deck: reader.Deck, folder: Path = RECORDINGS) -> List[str]:
    return [f"part {name!r} needs {need:.1f} min ({SPEAKING_MINUTES_PER_SLIDE:g} per slide plus its boxes) "
            f"but its [part] line gives it {budget:g}"
            for name, (need, budget) in minutes_per_part(deck, folder).items() if need > budget]


DECK_MODEL = reader.read(DECK)


# ---------------------------------------------------------------- the committed deck

def test_every_key_line_of_every_box_is_on_screen():
    assert misfits(DECK_MODEL) == []


def test_the_deck_states_a_budget_for_every_part():
    parts = DECK_MODEL.parts
    assert parts and parts[0].first == 1 and parts[-1].last == len(DECK_MODEL.slides)
    assert sum(part.minutes for part in parts) == 75


def test_every_part_fits_its_budget():
    assert over_budget(DECK_MODEL) == []


# ---------------------------------------------------------------- and broken copies fail

def tiny_deck(rows: int, expect: str = "^wanted line$", command: str = "seq 8") -> reader.Deck:
    text = ("---\ntitle: t\n---\n\n# One\n\n```terminal-ex\ncommand: scripts/workshop-shell\n"
            f"rows: {rows}\ninit_text: {command}\ninit_wait: 'workshop$ '\ninit_codeblock: false\n```\n"
            f'[rehearse]: # "expect: {expect}"\n')
    return reader.parse(text, Path("tiny.md"))


def write_cast(folder: Path, lines: List[str]) -> None:
    cast = recordings.Recording(106, 5, "seq 8")
    cast.output(0.01, "workshop$ ")
    cast.marker(0.02, "enter")
    cast.output(0.03, "seq 8\r\n")
    cast.output(2.5, "".join(line + "\r\n" for line in lines))
    cast.output(2.6, "workshop$ ")
    cast.write(folder / "slide-01-box-1.cast")


def test_a_key_line_pushed_out_by_later_output_is_caught(tmp_path):
    write_cast(tmp_path, ["wanted line"] + [f"noise {n}" for n in range(6)])
    assert misfits(tiny_deck(rows=8), tmp_path) == []          # 7 lines and the prompt: all on screen
    (problem,) = misfits(tiny_deck(rows=4), tmp_path)
    assert "slide 1 box 1" in problem and "`wanted line`" in problem and "4-row box" in problem


def test_a_long_line_wraps_at_the_box_width_and_counts_as_several_rows(tmp_path):
    write_cast(tmp_path, ["wanted line " + "x" * 200, "after"])  # 212 columns: two rows at 106
    assert misfits(tiny_deck(rows=5, expect="^wanted line"), tmp_path) == []
    assert misfits(tiny_deck(rows=3, expect="^wanted line"), tmp_path) != []


def test_a_recording_of_another_command_or_without_the_line_is_caught(tmp_path):
    write_cast(tmp_path, ["something else"])
    (problem,) = misfits(tiny_deck(rows=8), tmp_path)
    assert "has no line matching" in problem
    with pytest.raises(AssertionError, match="records `seq 8`, not `seq 9`"):
        misfits(tiny_deck(rows=8, command="seq 9"), tmp_path)


def test_a_box_of_the_real_deck_made_too_short_is_caught():
    box = next(b for b in DECK_MODEL.boxes() if b.typed == "kubectl get deployments,replicasets,pods")
    text = DECK.read_text()
    lines = text.splitlines()
    rows_line = next(i for i in range(box.line, box.line + 6) if lines[i].startswith("rows:"))
    lines[rows_line] = "rows: 5"
    broken = reader.parse("\n".join(lines) + "\n", DECK)
    assert any(f"slide {box.slide} box {box.position}" in problem and "scrolled out of the 5-row box" in problem
               for problem in misfits(broken))


def test_a_part_given_too_few_minutes_is_caught():
    parts = DECK_MODEL.parts
    biggest = max(parts, key=lambda p: p.minutes)
    other = next(p for p in parts if p is not biggest)
    text = DECK.read_text()

    def retime(text, part, minutes):
        old = f'[part]: # "{part.name}; {part.minutes:g}"'
        assert old in text
        return text.replace(old, f'[part]: # "{part.name}; {minutes:g}"')

    moved = biggest.minutes - 2          # the biggest part keeps 2 minutes, the rest goes elsewhere
    broken = reader.parse(retime(retime(text, biggest, 2), other, other.minutes + moved), DECK)
    assert any(f"part {biggest.name!r} needs" in problem for problem in over_budget(broken))
