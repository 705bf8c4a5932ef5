"""What a presenter takes to give a slide, from what is on it: its words on screen, the lines of code
it lists, its speaker notes and its live boxes. The machine's own time (a box's command running) is
not here: rehearsal/fit.py adds each box's recorded time to this.

The constants were fitted (least squares) to ten fresh reviewers' per-slide estimates, 296 in all,
each made without sight of this model or of another review: six of the 30-slide lecture of
2026-12-06 and four of the 29-slide one after the named volume moved to the extras
(docs/rehearsing.md has the tables beside the plan). The reviewers agreed that a recap or a slide of
pointers is read out, not taught, and that a question the class answers aloud takes half a minute:
the deck says so with a [clock] line."""

import re
from dataclasses import dataclass
from pathlib import Path

from workshop.paths import ROOT

SLIDE_SECONDS = 62.5  # every slide: putting it up, the sentence that introduces it, moving on
SUMMARY_SLIDE_SECONDS = 19.0  # instead, for a slide marked [clock]: # "summary"
QUESTION_SECONDS = 27.0  # more, for a slide marked [clock]: # "question"
WORD_SECONDS = 0.49  # each word of text on screen: prose, lists, tables
LISTING_LINE_SECONDS = 1.54  # each non-blank line of code shown: a file block, an indented listing
NOTE_WORD_SECONDS = 0.4  # each word of the speaker notes (said in passing, not read out)
BOX_SECONDS = 8.6  # each live box: Down, Enter, pointing at the output, Ctrl-a

WORD = re.compile(r"[A-Za-z0-9][\w.'/-]*")


@dataclass(frozen=True)
class Talk:
    """What a slide holds that takes a presenter time."""

    words: int  # on screen, outside code
    listing: int  # non-blank lines of code shown
    notes: int  # words of speaker notes
    boxes: int  # live boxes (a command typed in them)
    kinds: frozenset[str] = frozenset()  # its [clock] lines: summary, question

    @property
    def seconds(self) -> float:
        return (
            (SUMMARY_SLIDE_SECONDS if "summary" in self.kinds else SLIDE_SECONDS)
            + (QUESTION_SECONDS if "question" in self.kinds else 0.0)
            + WORD_SECONDS * self.words
            + LISTING_LINE_SECONDS * self.listing
            + NOTE_WORD_SECONDS * self.notes
            + BOX_SECONDS * self.boxes
        )


def talk(slide, root: Path = ROOT) -> Talk:
    """What this slide (a reader.Slide) holds; file blocks are read from root, where the deck's paths start."""
    words = listing = 0
    fence = False
    for line in slide.lines:
        text = line.strip()
        if fence:
            fence = not text.startswith("```")
            continue
        if text.startswith("```"):  # a box or a file block: counted below
            fence = True
            continue
        if (text.startswith("[") and "]: #" in text) or (text.startswith("|") and set(text) <= set("|-: ")):
            continue  # hidden lines, and a table's rule
        if line.startswith("    ") and text:
            listing += 1
            continue
        words += len(WORD.findall(text))
    for block in slide.files:
        shown = (root / block.path).read_text().splitlines()
        span = block.spec.get("lines") or {}
        listing += sum(1 for line in shown[span.get("start", 0) : span.get("end") or len(shown)] if line.strip())
    notes = sum(len(WORD.findall(note)) for note in slide.notes)
    return Talk(words, listing, notes, sum(1 for box in slide.boxes if box.typed), frozenset(slide.clock))
