"""scripts/catch-up SLIDE: bring this machine to where SLIDE starts, by running the deck's boxes
before it with the rehearsal engine (one line per box). A box whose step already works, by the
same check `scripts/check STEP` makes, is passed over, so running it twice is safe. For the
presenter after a failed box, and for a student who starts late."""

import argparse
import os
from collections.abc import Sequence

from workshop.cli import run
from workshop.commands.options import add_deck_option, chosen, deck_path
from workshop.deck.directives import KNOWN_NEEDS
from workshop.deck.reader import Box
from workshop.paths import ROOT
from workshop.presenter import catch_up
from workshop.rehearsal import step_table


def in_effect(box: Box) -> str | None:
    """'check py-image passes: ...' when the box may be passed over (`step: NAME skip` under it in the
    deck) and that step already works."""
    for step, role in box.directives.steps:
        if role == "skip" and step in step_table.STEPS:
            outcome = step_table.check(step)
            return f"check {step} passes: {outcome.found}" if outcome.ok else None
    return None


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/catch-up", description=__doc__.split("\n\n")[0])
    parser.add_argument("slide", metavar="SLIDE", help="the slide to catch up to: its number, or words of its title")
    add_deck_option(parser)
    parser.add_argument("--without", default="", help=f"leave out the boxes that need these ({', '.join(KNOWN_NEEDS)})")
    parser.add_argument("--list", action="store_true", help="list the boxes it would run, without running them")
    args = parser.parse_args(argv)
    # the deck and --without, checked as rehearse checks them (catch-up picks its slides itself)
    deck, _, without = chosen(argparse.Namespace(deck=deck_path(args), slides=None, without=args.without))
    slide = catch_up.target(deck, args.slide)
    os.chdir(ROOT)  # the boxes' command (scripts/workshop-shell) is relative to the repository, as in the deck
    if args.list:
        for box in catch_up.boxes_before(deck, slide):
            print(f"{box.label:<15} {box.typed or box.command}")
        return 0
    print(catch_up.CatchUp(deck, slide, in_effect, say=lambda line: print(line, flush=True), without=without).run())
    return 0


if __name__ == "__main__":
    run(main, "catch-up")
