"""The deck as the class sees it (workshop/rehearsal/fit.py): every box's key lines are on screen, and
the lecture fits 75 minutes by the honest clock; broken copies of the deck are caught."""

from pathlib import Path

import pytest

from workshop.deck import clock, reader
from workshop.paths import DECK, DECKS
from workshop.rehearsal import fit, recordings
from workshop.rehearsal.fit import misfits, over_budget

DECK_MODEL = reader.read(DECK)


# ---------------------------------------------------------------- the committed deck

BOTH = pytest.mark.parametrize("deck_path", list(DECKS), ids=lambda path: path.name)


@BOTH
def test_every_key_line_of_every_box_is_on_screen(deck_path):
    assert misfits(reader.read(deck_path)) == []


@BOTH
def test_the_deck_states_a_budget_for_every_part_and_keeps_the_spare_minutes(deck_path):
    model = reader.read(deck_path)
    parts = model.parts
    assert parts and parts[0].first == 1 and parts[-1].last == len(model.slides)
    assert sum(part.minutes for part in parts) <= model.minutes - fit.SPARE_MINUTES and model.minutes == 75


@BOTH
def test_every_part_fits_its_budget_by_the_honest_clock(deck_path):
    assert over_budget(reader.read(deck_path)) == []


def test_the_honest_clock_charges_each_slide_and_box_the_presenters_time(tmp_path):
    write_cast(tmp_path, ["wanted line"])
    (part,) = fit.plan(tiny_deck(rows=8, part="Only; 2"), tmp_path)
    assert (len(part.slides), part.boxes) == (1, 1)
    assert part.machine == pytest.approx(2.58, abs=0.01)  # Enter at 0.02 s, the prompt back at 2.6 s
    talk = clock.SLIDE_SECONDS + clock.WORD_SECONDS * 1 + clock.BOX_SECONDS  # its one word: "One"
    assert part.minutes == pytest.approx((talk + 2.58) / 60, abs=0.001)


def test_the_clock_counts_words_on_screen_listed_code_notes_and_boxes_not_hidden_lines(tmp_path):
    (tmp_path / "code.py").write_text("a = 1\n\nb = 2\nc = 3\n")
    text = (
        "---\ntitle: t\nminutes: 75\n---\n\n# Two words\n\nfive words on this line\n\n- a list item\n\n"
        "| col | umn |\n|-----|-----|\n| x | y |\n\n    an indented listing\n    of two lines\n\n"
        "```file\npath: code.py\nlang: python\nlines:\n  start: 1\n```\n\n"
        '[notes]: # "three note words"\n[part]: # "Hidden; 3"\n'
    )
    slide = reader.parse(text, tmp_path / "deck.md").slide(1)
    talk = clock.talk(slide, tmp_path)
    # title 2 + 5 + list 3 + table 4 (its rule is not words); listing 2 + the file's lines 2 and 3 (one blank)
    assert talk == clock.Talk(words=14, listing=4, notes=3, boxes=0)
    summary = reader.parse(text + '[clock]: # "summary"\n', tmp_path / "deck.md").slide(1)
    assert clock.talk(summary, tmp_path).seconds == pytest.approx(
        talk.seconds - clock.SLIDE_SECONDS + clock.SUMMARY_SLIDE_SECONDS
    )
    assert talk.seconds == pytest.approx(
        clock.SLIDE_SECONDS + 14 * clock.WORD_SECONDS + 4 * clock.LISTING_LINE_SECONDS + 3 * clock.NOTE_WORD_SECONDS
    )


def test_a_deck_that_overruns_fails_and_one_that_fits_passes(tmp_path):
    """A part whose slides and boxes need more than its minutes is caught; so is a lecture that needs more
    than its slot less the spare minutes; parts whose budgets leave no spare minutes are refused outright."""
    write_cast(tmp_path, ["wanted line"])
    (problem,) = over_budget(tiny_deck(rows=8, part="Only; 1"), tmp_path)
    assert problem.startswith("part 'Only' needs 1.2 min") and "gives it 1" in problem
    assert over_budget(tiny_deck(rows=8, part="Only; 2"), tmp_path) == []
    assert any(
        p.startswith("the lecture needs 1.2 min")
        for p in over_budget(tiny_deck(rows=8, part="Only; 2"), tmp_path, lecture=6)
    )
    with pytest.raises(reader.DeckError, match="keeps 5 spare, so at most 70"):
        tiny_deck(rows=8, part="Only; 71")


# ---------------------------------------------------------------- and broken copies fail


def tiny_deck(rows: int, expect: str = "^wanted line$", command: str = "seq 8", part: str = "") -> reader.Deck:
    text = (
        "---\ntitle: t\nminutes: 75\n---\n\n# One\n\n```terminal-ex\ncommand: scripts/workshop-shell\n"
        f"rows: {rows}\ninit_text: {command}\ninit_wait: 'workshop$ '\ninit_codeblock: false\n```\n"
        f'[rehearse]: # "expect: {expect}"\n' + (f'[part]: # "{part}"\n' if part else "")
    )
    return reader.parse(text, Path("tiny.md"))


def write_cast(folder: Path, lines: list[str]) -> None:
    cast = recordings.Recording(106, 5, "seq 8")
    cast.output(0.01, "workshop$ ")
    cast.marker(0.02, "enter")
    cast.output(0.03, "seq 8\r\n")
    cast.output(2.5, "".join(line + "\r\n" for line in lines))
    cast.output(2.6, "workshop$ ")
    cast.write(folder / "slide-01-box-1.cast")


def test_a_key_line_pushed_out_by_later_output_is_caught(tmp_path):
    write_cast(tmp_path, ["wanted line"] + [f"noise {n}" for n in range(6)])
    assert misfits(tiny_deck(rows=9), tmp_path) == []  # the command, 7 lines and the prompt: all on screen
    problems = [p for p in misfits(tiny_deck(rows=4), tmp_path) if "`wanted line`" in p]  # and the command
    assert len(problems) == 1 and "slide 1 box 1" in problems[0] and "4-row box" in problems[0]


def test_a_typed_command_pushed_out_before_the_prompt_is_back_is_caught(tmp_path):
    """The class reads a box by its command: the real TUI's judge fails a box whose command has scrolled away."""
    write_cast(tmp_path, ["wanted line"] + [f"noise {n}" for n in range(6)])
    (problem,) = misfits(tiny_deck(rows=8), tmp_path)  # the 7 lines and the prompt fill it; `seq 8` is gone
    assert "slide 1 box 1 (`seq 8`): its typed command has scrolled out of the 8-row box" in problem


def test_a_long_line_wraps_at_the_box_width_and_counts_as_several_rows(tmp_path):
    write_cast(tmp_path, ["wanted line " + "x" * 200, "after"])  # 212 columns: two rows at 106
    assert misfits(tiny_deck(rows=6, expect="^wanted line"), tmp_path) == []
    assert misfits(tiny_deck(rows=3, expect="^wanted line"), tmp_path) != []


def test_a_recording_of_another_command_or_without_the_line_is_caught(tmp_path):
    write_cast(tmp_path, ["something else"])
    (problem,) = misfits(tiny_deck(rows=8), tmp_path)
    assert "has no line matching" in problem
    with pytest.raises(fit.RecordingProblem, match="records `seq 8`, not `seq 9`"):
        misfits(tiny_deck(rows=8, command="seq 9"), tmp_path)


def test_a_box_of_the_real_deck_made_too_short_is_caught():
    box = next(b for b in DECK_MODEL.boxes() if b.typed == "kubectl get deployments,replicasets,pods")
    text = DECK.read_text()
    lines = text.splitlines()
    rows_line = next(i for i in range(box.line, box.line + 6) if lines[i].startswith("rows:"))
    lines[rows_line] = "rows: 5"
    broken = reader.parse("\n".join(lines) + "\n", DECK)
    assert any(
        f"slide {box.slide} box {box.position}" in problem and "scrolled out of the 5-row box" in problem
        for problem in misfits(broken)
    )


def test_a_part_given_too_few_minutes_is_caught():
    parts = DECK_MODEL.parts
    biggest = max(parts, key=lambda p: p.minutes)
    other = next(p for p in parts if p is not biggest)
    text = DECK.read_text()

    def retime(text, part, minutes):
        old = f'[part]: # "{part.name}; {part.minutes:g}"'
        assert old in text
        return text.replace(old, f'[part]: # "{part.name}; {minutes:g}"')

    moved = biggest.minutes - 2  # the biggest part keeps 2 minutes, the rest goes elsewhere
    broken = reader.parse(retime(retime(text, biggest, 2), other, other.minutes + moved), DECK)
    assert any(f"part {biggest.name!r} needs" in problem for problem in over_budget(broken))
