"""The present command: check what the deck needs, then hand the terminal to lookatme (run in-process)."""

import argparse
import os
import shutil
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from workshop.cli import WorkshopError, run
from workshop.commands import options
from workshop.commands.options import add_deck_option, add_replay_option, replay_folder
from workshop.deck import reader as deck
from workshop.deck.geometry import MIN_COLS, MIN_ROWS
from workshop.machine import host
from workshop.machine.engine import ENGINE as engine
from workshop.paths import ROOT, state
from workshop.rehearsal import cleanup

LOOKATME_EXTENSIONS = "terminal,file_loader"


def check_expect() -> None:
    if shutil.which("expect") is None:
        raise WorkshopError(
            f"the program `expect` is missing (lookatme types each box's command with it): "
            f"run `{host.install_hint('expect')}`, then start the deck again."
        )


def check_terminal_size() -> None:
    if not sys.stdout.isatty():
        raise WorkshopError("the deck needs an interactive terminal: run scripts/present in a terminal window.")
    size = os.get_terminal_size(sys.stdout.fileno())
    if size.columns < MIN_COLS or size.lines < MIN_ROWS:
        raise WorkshopError(
            f"this terminal is {size.columns}x{size.lines}; the deck needs at least "
            f"{MIN_COLS}x{MIN_ROWS}: enlarge the window or make the font smaller, then try again."
        )


def docker_warning() -> str:
    """A one-line note when no Docker engine answers; the deck still starts (slides work without it)."""
    if shutil.which("docker") is None:
        return "note: Docker is not installed, so the live Docker boxes will fail (see README.md, Requirements)."
    if engine.server_version(timeout=5):
        return ""
    return "note: the Docker engine is not answering, so the live Docker boxes will fail: start Docker (or run scripts/prepare)."


class EngineLook(threading.Thread):
    """Whether the engine answers (docker_warning) and which containers it holds before the deck, asked
    while this process loads lookatme: two docker calls that would otherwise add 0.09 s to the start."""

    def __init__(self) -> None:
        super().__init__(name="engine-look", daemon=True)
        self.note = ""
        self.containers: set[str] | None = None

    def run(self) -> None:
        self.note = docker_warning()
        if not self.note:
            self.containers = cleanup.container_ids(timeout=10)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/present", description="Present the workshop deck with lookatme.")
    parser.add_argument("file", nargs="?", type=Path, metavar="DECK", help="the deck, as --deck names it")
    add_deck_option(parser, default=None)
    add_replay_option(
        parser,
        "no Docker needed: each box replays its recording from DIR (default: the deck's, recordings/ for slides.md, recordings/extras/ for extras.md)",
    )
    args = parser.parse_args(argv)
    if args.file and args.deck and args.file.resolve() != args.deck.resolve():
        raise WorkshopError(f"two decks named ({args.file} and --deck {args.deck}): name one")
    deck_path = options.deck_path(argparse.Namespace(deck=args.deck or args.file))
    check_expect()
    check_terminal_size()
    look = EngineLook() if args.replay is None else None
    if look is not None:
        look.start()
    read = deck.read(deck_path)
    replay = replay_folder(deck_path, args.replay)
    if replay is not None:
        # the boxes' shells inherit this; scripts/workshop-shell then plays recordings instead of running bash
        session = state() / "replay-session"  # where the boxes agree who plays which repeated command
        shutil.rmtree(session, ignore_errors=True)
        session.mkdir(parents=True)
        os.environ.update(
            WORKSHOP_REPLAY=str(replay), WORKSHOP_REPLAY_DECK=str(deck_path), WORKSHOP_REPLAY_SESSION=str(session)
        )
    # lookatme in this process, so that each slide change is published for scripts/notes (its import,
    # the longest part of the start, overlaps the engine look)
    from workshop.presenter import deck_hook

    note, before = "", None
    if look is not None:
        os.environ.pop("WORKSHOP_REPLAY", None)  # live means live, whatever the calling shell exported
        look.join()
        note, before = look.note, look.containers
        if note:
            print(note, file=sys.stderr)
    os.chdir(ROOT)  # the boxes start scripts/workshop-shell relative to lookatme's working directory
    live_engine = look is not None and not note
    lookatme_args = ["-e", LOOKATME_EXTENSIONS, str(deck_path)]
    return deck_hook.present(deck_path, lookatme_args, engine_answers=live_engine, read=read, containers_before=before)


if __name__ == "__main__":
    run(main, "present")
