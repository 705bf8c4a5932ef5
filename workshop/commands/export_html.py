"""The export-html command: the lecture as a static web site, for students who open it in a
browser (no Python, no terminal, no network: it opens from file://). See workshop/export."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from workshop import export
from workshop.cli import run
from workshop.commands.options import add_deck_option, add_recordings_option, deck_path


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/export-html",
        description="Write the deck as a static site (DIR/index.html): every slide, "
        "and every terminal box playing its real recording.",
    )
    parser.add_argument("dir", type=Path, metavar="DIR", help="the folder to write the site into (created if needed)")
    add_deck_option(parser)
    add_recordings_option(parser, "the folder of the boxes' recordings")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    summary = export.export(
        args.dir,
        deck_path=deck_path(args),
        recordings_dir=args.recordings,
        note=lambda line: print(f"export-html: {line}", file=sys.stderr, flush=True),
    )
    print(f"export-html: {summary.line()}")
    return 0


if __name__ == "__main__":
    run(main, "export-html")
