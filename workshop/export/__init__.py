"""The lecture as a static web site (`scripts/export-html DIR`), for students who open it in a browser.

One page, index.html, holds every slide of slides.md in order, shown one at a time: Markdown
through markdown-it-py, file blocks highlighted with Pygments, and each terminal box as an
asciinema player playing that box's real recording (recordings/ID.cast, after the box's id), with its
markers as steps to jump to. The player's files are copied into the site, and the recordings are
written as scripts beside it, so the site opens from file:// with no network. The hidden lines
lookatme never shows (rehearsal directives, speaker notes, `[//]: #` comments) never reach it.

    hidden    which deck lines are hidden text
    casts     a box's recording: found, checked, trimmed as replay plays it, written for the page
    blocks    the HTML of a terminal box, a file block and a code block
    slides    one slide's Markdown to HTML
    player    the asciinema player from npm (web/), installed with `npm ci` when missing
    site      the page itself, its assets, and export() that writes it all
"""

from workshop.export.site import Summary, export

__all__ = ["Summary", "export"]
