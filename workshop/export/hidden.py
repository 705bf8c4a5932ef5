"""Hidden text: Markdown link reference definitions that point at `#`, which lookatme never shows.

The deck keeps its rehearsal directives (`[rehearse]: # "expect: ..."`), speaker notes
(`[notes]: # "..."`) and comments (`[//]: # (...)`) in them. The export drops every such line
before the Markdown parser sees it, including a title that goes on over several lines.
"""

import re
from collections.abc import Sequence

# `[label]: #` then an optional title in "...", '...' or (...), as CommonMark defines one.
_START = re.compile(r"""^ {0,3}\[[^\]]+\]:[ \t]*#(?=[ \t]|$)(?:[ \t]+(?P<open>["'(]))?""")
_CLOSER = {'"': '"', "'": "'", "(": ")"}


def split(lines: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the visible lines, the hidden ones), each in deck order."""
    visible: list[str] = []
    hidden: list[str] = []
    closer = None  # the character that ends a title still open
    for line in lines:
        if closer is not None:
            hidden.append(line)
            if closer in line or not line.strip():
                closer = None
            continue
        start = _START.match(line)
        if not start:
            visible.append(line)
            continue
        hidden.append(line)
        opened = start.group("open")
        if opened and _CLOSER[opened] not in line[start.end() :]:
            closer = _CLOSER[opened]
    return visible, hidden


def visible(lines: Sequence[str]) -> list[str]:
    return split(lines)[0]


def hidden(lines: Sequence[str]) -> list[str]:
    return split(lines)[1]
