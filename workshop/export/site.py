"""The exported site: index.html with every slide, assets/ (the player, the stylesheets, deck.js)
and casts/ (each recording, as the .cast file and as a script the page loads).

    DIR/index.html                  every slide, one shown at a time; #slide-N links to slide N
    DIR/assets/                     asciinema-player.min.js and .css, pygments.css, deck.css, deck.js
    DIR/casts/ID.cast               the box's recording, as recorded (ID: the box's id in the deck)
    DIR/casts/ID.js                 the part the page plays, as a script (file:// may not fetch)
"""

import os
import shutil
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from workshop.cli import Note, WorkshopError, quiet
from workshop.deck import reader
from workshop.export import blocks, casts, player, slides
from workshop.machine import host
from workshop.paths import DECK, recordings_for

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = ("deck.css", "deck.js")


@dataclass
class Summary:
    index: Path
    slides: int = 0
    boxes: int = 0
    missing: list[str] = field(default_factory=list)  # recordings the boxes lack
    size: int = 0  # bytes written
    seconds: float = 0.0

    def line(self) -> str:
        recorded = self.boxes - len(self.missing)
        text = (
            f"{self.slides} slides and {self.boxes} terminal boxes ({recorded} with their recording) "
            f"written to {host.shown(self.index)}: {self.size / 1e6:.1f} MB in {self.seconds:.1f} s"
        )
        if self.missing:
            few = ", ".join(self.missing[:3]) + (f" and {len(self.missing) - 3} more" if len(self.missing) > 3 else "")
            text += f"; no recording for {few} (run scripts/record, then export again)"
        return text


def _folder(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise WorkshopError(f"{out} is a file, not a folder: give the folder to write the site into")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for sub in ("assets", "casts"):
            (out / sub).mkdir(exist_ok=True)
    except OSError as error:
        raise WorkshopError(f"cannot create the folder {out}: {error.strerror or error}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise WorkshopError(f"{out} is not writable: choose another folder or fix its permissions")
    return out


def export(
    out: Path, deck_path: Path = DECK, recordings_dir: Path | None = None, note: Note = quiet, web: Path = player.WEB
) -> Summary:
    """Write the site into out; raise WorkshopError (one line) on a bad deck, folder or player."""
    started = time.monotonic()
    deck = reader.read(deck_path)
    out = _folder(Path(out))
    player.ensure(web, note)
    summary = Summary(index=out / "index.html", slides=len(deck.slides))
    assets = out / "assets"
    try:
        written = [assets / name for name in player.copy(assets, web, note)]
        for name in STATIC_FILES:
            shutil.copyfile(STATIC / name, assets / name)
            written.append(assets / name)
        style = str((deck.meta.get("styles") or {}).get("style") or "monokai")
        written.append(assets / "pygments.css")
        written[-1].write_text(blocks.pygments_css(style), encoding="utf-8")
        page, found = _page(deck, Path(recordings_dir or recordings_for(deck_path)))
        for cast in found:
            summary.boxes += 1
            if not cast.ok:
                summary.missing.append(cast.name)
                continue
            written += [out / "casts" / cast.name, out / "casts" / f"{cast.stem}.js"]
            shutil.copyfile(cast.source, written[-2])
            written[-1].write_text(casts.script(cast), encoding="utf-8")
        summary.index.write_text(page, encoding="utf-8")
        written.append(summary.index)
    except OSError as error:
        raise WorkshopError(f"cannot write the site into {out}: {error.strerror or error}") from None
    summary.size = sum(path.stat().st_size for path in written)
    summary.seconds = time.monotonic() - started
    return summary


def _page(deck: reader.Deck, recordings_dir: Path):
    """index.html's text, and the Cast of every box in deck order."""
    md = slides.parser()
    found: list[casts.Cast] = []
    shown = host.shown(recordings_dir)

    def box_html(box) -> str:
        cast = casts.find(box, recordings_dir)
        found.append(cast)
        return blocks.terminal_box(box, cast, shown)

    meta = deck.meta
    title = escape(str(meta.get("title") or "slides"))
    byline = escape(" \u00b7 ".join(str(meta[k]) for k in ("author", "date") if meta.get(k)))
    total = len(deck.slides)
    sections, contents = [], []
    for slide in deck.slides:
        n = slide.number
        heading = escape(slides.inline_text(md, slide.title)) if slide.title else f"slide {n}"
        contents.append(f'<li><a href="#slide-{n}">{heading}</a></li>')
        body = slides.render(md, slide, box_html, deck.path.parent)
        prev_link = (
            f'<a class="prev" rel="prev" href="#slide-{n - 1}" title="previous slide (Left)">&larr;</a>'
            if n > 1
            else '<span class="prev"></span>'
        )
        next_link = (
            f'<a class="next" rel="next" href="#slide-{n + 1}" title="next slide (Right)">&rarr;</a>'
            if n < total
            else '<span class="next"></span>'
        )
        sections.append(
            f'<section class="slide" id="slide-{n}" data-slide="{n}" aria-label="slide {n}: {heading}">\n'
            f'<div class="slide-body">\n{body}</div>\n'
            f'<footer class="slide-foot"><span class="byline">{byline}</span>'
            f'<nav class="slide-nav">{prev_link}<a class="counter" href="#slide-{n}" '
            f'title="link to this slide">slide {n} / {total}</a>{next_link}</nav></footer>\n</section>\n'
        )
    scripts = "".join(f'<script src="casts/{escape(c.stem)}.js"></script>\n' for c in found if c.ok)
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="scripts/export-html">
<title>{title}</title>
<link rel="stylesheet" href="assets/asciinema-player.css">
<link rel="stylesheet" href="assets/pygments.css">
<link rel="stylesheet" href="assets/deck.css">
</head>
<body>
<header class="deck-bar"><a class="deck-title" href="#slide-1">{title}</a>
<details class="contents"><summary>Contents</summary><ol>
{"".join(contents)}
</ol></details>
<span class="keys">&larr; &rarr; change slides &middot; each box replays its real recording</span></header>
<main id="slides" data-total="{total}">
{"".join(sections)}</main>
<script src="assets/asciinema-player.min.js"></script>
{scripts}<script src="assets/deck.js"></script>
</body>
</html>
"""
    return page, found
