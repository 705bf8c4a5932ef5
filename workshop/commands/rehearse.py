"""The rehearse command: run every live box of the deck for real and print one line per step."""
import argparse
from pathlib import Path
from typing import Sequence

from workshop.cli import WorkshopError, run
from workshop.rehearsal import step_checks
from workshop.commands.options import add_deck_options, chosen
from workshop.presenter import timings
from workshop.rehearsal import needs, recordings
from workshop.rehearsal.engine import Options
from workshop.rehearsal.report import run_and_report, write_json


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/rehearse",
                                     description="Run every live box of the deck for real, in slide order.")
    add_deck_options(parser)
    parser.add_argument("-x", "--stop-first", action="store_true", help="stop at the first failure")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write a report with per-step timings")
    parser.add_argument("--record", type=Path, metavar="DIR", help="record each box as an asciicast v2 file")
    parser.add_argument("--list", action="store_true", help="list the steps without running them")
    parser.add_argument("--check-steps", action="store_true", help="run each student check (scripts/check) just "
                        "before its step's first box, where it must fail, and just after its last, where it must pass")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    deck, slides, without = chosen(args)
    if args.list:
        for box in deck.boxes():
            if slides is None or box.slide in slides:
                print(f"{box.label:<15} {box.typed or box.command}")
        return 0
    unmet = needs.first_unmet((b for b in deck.boxes() if slides is None or b.slide in slides), without)
    if unmet:
        raise WorkshopError(unmet)
    options = Options(slides=slides, without=without, stop_first=args.stop_first,
                      record_dir=args.record, recording_header=recordings.header() if args.record else {},
                      around=step_checks.StepChecks(deck) if args.check_steps else None)
    results, seconds = run_and_report(deck, options)
    write_json(timings.last_rehearsal(), args.deck.resolve(), results, seconds)   # what scripts/notes shows
    if args.json:
        write_json(args.json, args.deck, results, seconds)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    run(main, "rehearse")
