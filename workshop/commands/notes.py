"""scripts/notes: the presenter's view, in a second terminal or tmux pane next to scripts/present.

It follows the live deck: this slide's number, title and speaker notes, the next slide's title, the
time since the lecture started against the deck's per-part budget, and how long this slide's boxes
took in the last rehearsal. With no deck running it says so and waits for one."""

import argparse
import datetime
from collections.abc import Sequence

from workshop.cli import FAILED, OK, WorkshopError, run
from workshop.presenter import view


def start_time(text: str | None, now: datetime.datetime | None = None) -> float | None:
    """'--start 14:10' -> today at 14:10 (as time.time() counts); None keeps the deck's own start."""
    if text is None:
        return None
    for pattern in ("%H:%M", "%H:%M:%S"):
        try:
            clock = datetime.datetime.strptime(text, pattern).time()
        except ValueError:
            continue
        return datetime.datetime.combine((now or datetime.datetime.now()).date(), clock).timestamp()
    raise WorkshopError(f"--start takes the lecture's start as HH:MM (e.g. 14:10), not {text!r}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/notes", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--start", metavar="HH:MM", help="when the lecture started (default: when the deck first showed slide 1)"
    )
    parser.add_argument(
        "--once", action="store_true", help="print the view once and exit (status 1 when no deck is running)"
    )
    args = parser.parse_args(argv)
    start = start_time(args.start)
    if args.once:
        running, lines = view.once(start)
        print("\n".join(lines))
        return OK if running else FAILED
    try:
        view.follow(start)
    except KeyboardInterrupt:  # the way to close the view: not an error
        return 0
    return 0


if __name__ == "__main__":
    run(main, "notes")
