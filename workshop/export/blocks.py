"""The HTML of the blocks a slide holds besides its text: terminal boxes, file blocks, code blocks.

A terminal box becomes an asciinema player (created by deck.js from the element's data-
attributes) under a bar that shows the command lookatme types into the box, with one button per
marker of the recording. A box with no recording shows the same bar and a note that names the
missing file and `scripts/record`. A file block shows the file as lookatme does: `lines` is a
0-based slice with an exclusive end, taken after `transform`; `lang` picks the Pygments lexer and
an unknown one (lookatme's `auto` included) means plain text.
"""

from html import escape
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.util import ClassNotFound

from workshop.export.casts import Cast
from workshop.machine import host
from workshop.names import PROMPT

IDLE_LIMIT = 2.0  # longest pause the player keeps, as replay does
RECORD_COMMAND = "scripts/record"
POSTER_AFTER = 0.001  # the poster shows the events before its time: all of them


def formatter() -> HtmlFormatter:
    return HtmlFormatter(cssclass="highlight", wrapcode=True)


def pygments_css(style: str) -> str:
    """The stylesheet of the Pygments classes, in the deck's style (monokai) when Pygments has it."""
    try:
        return HtmlFormatter(style=style, cssclass="highlight").get_style_defs(".highlight")
    except ClassNotFound:
        return formatter().get_style_defs(".highlight")


def code(text: str, lang: str) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    return highlight(text, lexer, formatter())


def _command_bar(box, extra: str = "") -> str:
    typed = box.typed
    command = (
        f'<code class="command">{escape(typed)}</code>'
        if typed
        else '<span class="bare">(an empty shell: type your own commands)</span>'
    )
    return (
        f'<figcaption class="box-bar"><span class="prompt">{escape(PROMPT.strip())}</span> '
        f"{command}{extra}</figcaption>"
    )


def ident(box) -> str:
    """A box's element id and data-box in the page (the class's student page reads it too)."""
    return f"box-{box.id}"


def terminal_box(box, cast: Cast, recordings_shown: str) -> str:
    """A terminal box: a player for its recording, or the command and a note when there is none."""
    element = ident(box)
    if cast.problem is not None:
        note = (
            f'<p class="no-recording">No recording of this box: <code>{escape(recordings_shown)}/'
            f"{escape(cast.name)}</code> {escape(cast.problem)}. Run <code>{RECORD_COMMAND}</code> "
            f"(it runs every box for real on Docker and the cluster), then export again.</p>"
        )
        return f'<figure class="box missing" id="{element}" data-box="{element}">{_command_bar(box)}{note}</figure>\n'
    steps = "".join(
        f'<button type="button" class="step" data-marker="{index}" title="jump to the step '
        f'&quot;{escape(label)}&quot; ({at:.2f} s) and play from there">&#9654; {escape(label or "step")}</button>'
        for index, (at, label) in enumerate(cast.markers)
    )
    extra = (
        f'<span class="steps" aria-label="steps of the recording">{steps}</span>'
        f'<a class="download" href="casts/{escape(cast.name)}" download>.cast</a>'
    )
    width, height = cast.header.get("width", 80), cast.header.get("height", box.rows)
    player = (
        f'<div class="player" data-cast="{escape(cast.stem)}" data-cols="{int(width)}" '
        f'data-rows="{int(height)}" data-poster="npt:{cast.end_time(IDLE_LIMIT) + POSTER_AFTER:.6f}" '
        f'data-idle="{IDLE_LIMIT}"></div>'
    )
    return f'<figure class="box" id="{element}" data-box="{element}">{_command_bar(box, extra)}{player}</figure>\n'


def _lines_slice(spec: dict):
    lines = spec.get("lines") or {}
    return int(lines.get("start") or 0), (None if lines.get("end") is None else int(lines["end"]))


def file_text(spec: dict, deck_dir: Path) -> str | None:
    """The part of the file the block shows, or None when the file is missing (lookatme then shows
    'File not found')."""
    path = Path(spec.get("path", ""))
    if spec.get("relative", True):
        path = deck_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if spec.get("transform"):
        text = host.run(
            ["sh", "-c", spec["transform"]],
            input=text,
            cwd=deck_dir,
            timeout=30,
            what=f"the transform of the file block {spec.get('path')}",
        ).stdout
    start, end = _lines_slice(spec)
    return "\n".join(text.splitlines()[start:end]) + "\n"


def file_block(spec: dict, deck_dir: Path) -> str:
    name = spec.get("path", "")
    text = file_text(spec, deck_dir)
    if text is None:
        return f'<p class="missing-file">File not found: <code>{escape(name)}</code></p>\n'
    start, end = _lines_slice(spec)
    shown = f", lines {start + 1}&ndash;{end}" if end is not None else (f", from line {start + 1}" if start else "")
    return (
        f'<figure class="file"><figcaption class="file-name">{escape(name)}{shown}</figcaption>'
        f"{code(text, spec.get('lang', 'auto'))}</figure>\n"
    )
