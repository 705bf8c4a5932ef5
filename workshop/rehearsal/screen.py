"""Reading the deck's screen as the class sees it: the terminal boxes drawn on it (lookatme draws
each one as a urwid LineBox, ┌─┐ │ │ └─┘) and the text inside each box's borders.

The text of a box is its rows with the borders cut off; a row the program filled to the right
border runs on into the next (the terminal wrapped it there), so a long command line typed into
a box is found whole."""

import re
from dataclasses import dataclass

from workshop.names import PROMPT

TOP = re.compile(r"┌(─+)┐")
# what must never be on the deck's screen, inside a box or out (lookatme's own failures)
DECK_ERRORS = ("Traceback (most recent call last)", "Error rendering slide", "Aborted!")
# what no box may show unless its directives say it fails on purpose
BOX_ERRORS = (
    "command not found",
    "Traceback (most recent call last)",
    "address already in use",
    "port is already allocated",
    "unable to listen on any of the requested ports",
)


@dataclass
class ScreenBox:
    top: int  # screen row of ┌
    left: int  # screen column of ┌
    width: int  # columns inside the borders
    rows: list[str]  # the rows inside the borders, as drawn
    closed: bool  # its bottom border is on screen too

    @property
    def text(self) -> str:
        """The rows inside, trailing blanks cut, a row filled to the border joined to the next."""
        out: list[str] = []
        carry = ""
        for row in self.rows:
            if len(row) >= self.width and not row.endswith(" "):
                carry += row
                continue
            out.append((carry + row).rstrip())
            carry = ""
        if carry:
            out.append(carry.rstrip())
        while out and not out[-1]:
            out.pop()
        return "\n".join(out)

    def at_prompt(self) -> bool:
        """The command has ended: the box's last row with anything on it is a bare prompt (read by
        rows: a line of output exactly as wide as the box looks like a wrapped one in the text)."""
        rows = [row.rstrip() for row in self.rows if row.strip()]
        return bool(rows) and rows[-1] == PROMPT.rstrip()

    def holds(self, x: int, y: int) -> bool:
        return self.left < x <= self.left + self.width and self.top < y <= self.top + len(self.rows)


def boxes(screen: str) -> list[ScreenBox]:
    """Every terminal box on the screen, top to bottom (one cut off at the screen's edge included)."""
    lines = screen.split("\n")
    found = []
    for y, line in enumerate(lines):
        for top in TOP.finditer(line):
            left, width = top.start(), len(top.group(1))
            rows, closed = [], False
            for below in lines[y + 1 :]:
                edge = below[left : left + width + 2]
                if edge.startswith("└") and edge.endswith("┘"):
                    closed = True
                    break
                if not edge.startswith("│"):
                    break
                rows.append(below[left + 1 : left + 1 + width].ljust(width))
            found.append(ScreenBox(y, left, width, rows, closed))
    return found


def outside(screen: str) -> str:
    """The screen with every box's inside blanked out."""
    lines = screen.split("\n")
    for box in boxes(screen):
        for offset in range(len(box.rows)):
            y = box.top + 1 + offset
            line = lines[y]
            lines[y] = line[: box.left + 1] + " " * box.width + line[box.left + 1 + box.width :]
    return "\n".join(lines)


def typed_line(typed: str) -> str:
    return PROMPT + typed


def typed_rows(box: ScreenBox, typed: str, last: bool = False) -> range | None:
    """The rows of the box holding the prompt and this command, running on over as many full rows
    as it needs with nothing after it on its last row (not a longer command that starts so); the
    first such rows, or with last=True the last (a command run again)."""
    line, width = typed_line(typed), box.width
    starts = range(len(box.rows) - 1, -1, -1) if last else range(len(box.rows))
    for start in starts:
        row = box.rows[start]
        if last and row.startswith("^C"):  # a command stopped with Ctrl-C leaves the next prompt after its ^C
            row = row[2:]
        if not row.startswith(PROMPT.rstrip()):
            continue
        count = max(1, -(-len(line) // width))  # rows it fills (a full last row: no more)
        joined = "".join([row] + box.rows[start + 1 : start + count])
        if joined.startswith(line) and not joined[len(line) :].strip():
            return range(start, start + count)
    return None


def typed_last(box: ScreenBox, typed: str) -> bool:
    """The box's last rows with anything on them are the prompt and this command, not yet run."""
    rows = typed_rows(box, typed, last=True)
    return rows is not None and not "".join(box.rows[rows.stop :]).strip()


def shows_typed(box: ScreenBox, typed: str) -> bool:
    return typed_rows(box, typed) is not None


def output(box: ScreenBox, typed: str, last: bool = False) -> str:
    """What the command printed: the box's text below its typed command (all of it when the
    command has scrolled away), without the bare prompt that follows it once it has ended; with
    last=True, below the last time it was typed."""
    rows = typed_rows(box, typed, last)
    below = box.rows if rows is None else box.rows[rows.stop :]
    kept = list(below)
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and kept[-1].rstrip() == PROMPT.rstrip():
        kept.pop()
    return ScreenBox(box.top, box.left, box.width, kept, box.closed).text
