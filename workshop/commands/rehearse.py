"""The rehearse command: run every live box of the deck for real and print one line per step."""

import argparse
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from workshop.cli import FAILED, OK, WorkshopError, run
from workshop.commands.options import add_deck_options, add_replay_option, chosen, replay_folder
from workshop.presenter import timings
from workshop.rehearsal import needs, recordings, step_checks, tui
from workshop.rehearsal.engine import Options
from workshop.rehearsal.report import print_step, run_and_report, summary, write_json


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/rehearse", description="Run every live box of the deck for real, in slide order."
    )
    add_deck_options(parser)
    parser.add_argument("-x", "--stop-first", action="store_true", help="stop at the first failure")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write a report with per-step timings")
    parser.add_argument("--record", type=Path, metavar="DIR", help="record each box as an asciicast v2 file")
    parser.add_argument("--list", action="store_true", help="list the steps without running them")
    parser.add_argument(
        "--tui",
        action="store_true",
        help="give the deck in the real TUI: scripts/present in a "
        "private tmux at 120x40, the presenter's keys only, each box judged by the screen",
    )
    add_replay_option(parser, "with --tui: the deck in replay mode (scripts/present --replay DIR)")
    parser.add_argument(
        "--check-steps",
        action="store_true",
        help="run each student check (scripts/check) just "
        "before its step's first box, where it must fail, and just after its last, where it must pass",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    deck, slides, without = chosen(args)
    if args.list:
        for box in deck.boxes():
            if slides is None or box.slide in slides:
                print(f"{box.label:<15} {box.typed or box.command}")
        return 0
    if args.replay is not None and not args.tui:
        raise WorkshopError(
            "--replay goes with --tui (scripts/rehearse --tui --replay): the replay is judged on the real deck's screen"
        )
    if args.replay is None:
        unmet = needs.first_unmet((b for b in deck.boxes() if slides is None or b.slide in slides), without)
        if unmet:
            raise WorkshopError(unmet)
    if args.tui:
        return in_the_tui(args, deck, slides, without)
    options = Options(
        slides=slides,
        without=without,
        stop_first=args.stop_first,
        record_dir=args.record,
        recording_header=recordings.header() if args.record else {},
        around=step_checks.StepChecks(deck) if args.check_steps else None,
    )
    results, seconds = run_and_report(deck, options)
    write_json(timings.last_rehearsal(), args.deck.resolve(), results, seconds)  # what scripts/notes shows
    if args.json:
        write_json(args.json, args.deck, results, seconds)
    return OK if all(r.ok for r in results) else FAILED


def in_the_tui(args: argparse.Namespace, deck, slides, without) -> int:
    """scripts/rehearse --tui: the real deck, judged by its screen; same report lines and JSON."""
    if args.check_steps or args.record or args.stop_first:
        raise WorkshopError("--tui takes --slides, --without, --replay and --json only")
    replay = replay_folder(args.deck, args.replay)
    walk = tui.Walk(
        deck,
        replay=replay,
        slides=slides,
        without=without,
        report=print_step,
        present=f"scripts/present {shlex.quote(str(args.deck.resolve()))}",
    )
    started = time.monotonic()
    rehearsal = tui.Rehearsal(walk)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the private tmux goes too (run's finally)
    results = rehearsal.run()
    seconds = time.monotonic() - started
    for line in rehearsal.slide_problems + (rehearsal.ended.lines() if rehearsal.ended else []):
        print(f"FAIL {line}")
    print(summary(results, seconds).replace("rehearsal:", "tui rehearsal:", 1) + f"; screens in {rehearsal.folder}")
    extra = {"mode": "tui-replay" if replay else "tui", "slide_seconds": rehearsal.slide_seconds}
    write_json(timings.last_rehearsal(), args.deck.resolve(), results, seconds, extra)
    if args.json:
        write_json(args.json, args.deck, results, seconds, extra)
    ok = all(r.ok for r in results) and not rehearsal.slide_problems and rehearsal.ended is None
    return OK if ok and results else FAILED


if __name__ == "__main__":
    run(main, "rehearse")
