"""The options several commands share, defined once: which deck, which slides, which needs to leave out,
and which recordings to replay."""

import argparse
from pathlib import Path
from typing import Literal, NamedTuple

from workshop.cli import WorkshopError
from workshop.deck import reader
from workshop.deck.directives import KNOWN_NEEDS
from workshop.paths import DECK, recordings_for


def add_deck_option(parser: argparse.ArgumentParser, default: Path | None = DECK) -> None:
    """--deck FILE: the deck, named so by every command that takes one (scripts/present also takes it first)."""
    parser.add_argument("--deck", type=Path, default=default, metavar="FILE", help="the deck (default: slides.md)")


def deck_path(args: argparse.Namespace) -> Path:
    """The deck --deck names, or slides.md."""
    return (args.deck or DECK).resolve()


def add_deck_options(parser: argparse.ArgumentParser) -> None:
    add_deck_option(parser)
    parser.add_argument("--slides", help="only these slides, e.g. 4-9 or 2,5,11-12")
    parser.add_argument("--without", default="", help=f"skip boxes that need these ({', '.join(KNOWN_NEEDS)})")


class Chosen(NamedTuple):
    deck: reader.Deck
    slides: list[int] | None  # None: every slide
    without: list[str]


def chosen(args: argparse.Namespace) -> Chosen:
    """The deck read, the slide numbers and the needs left out, each checked with a one-line error."""
    deck = reader.read(deck_path(args))
    without = [w.strip() for w in args.without.split(",") if w.strip()]
    unknown = [w for w in without if w not in KNOWN_NEEDS]
    if unknown:
        raise WorkshopError(f"--without {unknown[0]}: choose from {', '.join(KNOWN_NEEDS)}")
    slides = reader.parse_slide_ranges(args.slides, len(deck.slides)) if args.slides else None
    return Chosen(deck, slides, without)


def add_recordings_option(parser: argparse.ArgumentParser, what: str) -> None:
    """--recordings DIR: the folder of the boxes' recordings, named so by every command that takes one."""
    parser.add_argument(
        "--recordings",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"{what} (default: the deck's, recordings/ for slides.md, recordings/extras/ for extras.md)",
    )


def add_replay_option(parser: argparse.ArgumentParser, help: str) -> None:
    """--replay, or --replay=DIR: with no folder named, the deck's own recordings."""
    parser.add_argument("--replay", nargs="?", const=True, type=Path, metavar="DIR", help=help)


def replay_folder(deck_path: Path, replay: Path | Literal[True] | None) -> Path | None:
    """The folder --replay names (the deck's recordings for a bare --replay), checked with a one-line error;
    None without --replay."""
    if replay is None:
        return None
    folder = (recordings_for(deck_path) if replay is True else replay).resolve()
    if folder.suffix == ".md" and folder.is_file():
        raise WorkshopError(
            f"--replay takes a folder of recordings, not a deck: to replay {folder.name}, name "
            f"the deck first (scripts/present {folder.name} --replay)"
        )
    if not folder.is_dir():
        raise WorkshopError(
            f"no recordings in {folder}: make them with scripts/record, or name the folder with --replay=DIR"
        )
    return folder
