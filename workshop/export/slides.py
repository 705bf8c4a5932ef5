"""One slide's Markdown to HTML, through markdown-it-py (CommonMark, plus tables and strikethrough
as lookatme's mistune renders them).

Hidden lines are dropped first (see hidden.py). Raw HTML is shown as text, never passed through:
lookatme shows no HTML either. Fenced blocks are matched to the deck reader's model in order:
the n-th `terminal-ex` fence of a slide is its n-th Box, the n-th `file` fence its n-th FileBlock.
"""

import re
from collections.abc import Callable
from html import unescape

from markdown_it import MarkdownIt

from workshop.cli import WorkshopError
from workshop.export import blocks, hidden

_TAGS = re.compile(r"<[^>]+>")


def parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("fence", _render_fence)
    return md


def _render_fence(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    lang = token.info.split()[0] if token.info.strip() else ""
    return env["fence"](lang, token.content)


class _Fences:
    """Hands each fence of one slide its HTML, counting terminal boxes and file blocks."""

    def __init__(self, slide, box_html: Callable, deck_dir):
        self.slide, self.box_html, self.deck_dir = slide, box_html, deck_dir
        self.boxes = self.files = 0

    def __call__(self, lang: str, content: str) -> str:
        if lang == "terminal-ex":
            self.boxes += 1
            return self.box_html(self._nth(self.slide.boxes, self.boxes, "terminal box"))
        if lang == "file":
            self.files += 1
            return blocks.file_block(self._nth(self.slide.files, self.files, "file block").spec, self.deck_dir)
        return f'<figure class="code">{blocks.code(content, lang)}</figure>\n'

    def _nth(self, items: list, n: int, what: str):
        if n > len(items):
            raise WorkshopError(
                f"slide {self.slide.number}: the Markdown parser found more {what}s "
                f"than the deck reader ({len(items)}); is a fence indented oddly?"
            )
        return items[n - 1]

    def check(self) -> None:
        if (self.boxes, self.files) != (len(self.slide.boxes), len(self.slide.files)):
            raise WorkshopError(
                f"slide {self.slide.number}: the Markdown parser found {self.boxes} terminal "
                f"boxes and {self.files} file blocks, the deck reader {len(self.slide.boxes)} "
                f"and {len(self.slide.files)}"
            )


def render(md: MarkdownIt, slide, box_html: Callable, deck_dir) -> str:
    """The slide's HTML; box_html(box) gives a terminal box's."""
    fences = _Fences(slide, box_html, deck_dir)
    env: dict = {"fence": fences}
    html = md.render("\n".join(hidden.visible(slide.lines)) + "\n", env)
    fences.check()
    return html


def inline_text(md: MarkdownIt, text: str) -> str:
    """A title as plain text (for <title> and the contents), its inline Markdown rendered away."""
    return unescape(_TAGS.sub("", md.renderInline(text)))
