"""scripts/check STEP: did this step of the lecture work on my machine? (The checks themselves
are workshop/rehearsal/steps.py.)"""

import argparse
import sys
from collections.abc import Sequence

from workshop.cli import FAILED, OK, WorkshopError, run
from workshop.rehearsal.step_table import STEPS, check, listing


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/check",
        description=__doc__.split("\n\n")[0].split(" (")[0],
        epilog="steps:\n" + listing(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("steps", nargs="*", metavar="STEP", help="one or more steps (see --list)")
    parser.add_argument("--list", action="store_true", help="list the steps")
    args = parser.parse_args(argv)
    if args.list:
        print("steps, in lecture order:\n" + listing())
        return 0
    names = ", ".join(STEPS)
    if not args.steps:
        raise WorkshopError(f"name a step to check: {names}")
    unknown = [step for step in args.steps if step not in STEPS]
    if unknown:
        raise WorkshopError(f"unknown step {unknown[0]!r}; the steps are: {names}")
    outcomes = [check(step) for step in args.steps]
    for step, outcome in zip(args.steps, outcomes, strict=True):
        print(outcome.line(step))
    sys.stdout.flush()
    return OK if all(outcome.ok for outcome in outcomes) else FAILED


if __name__ == "__main__":
    run(main, "check")
