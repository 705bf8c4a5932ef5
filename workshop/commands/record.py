"""The record command: refresh recordings/ (what `scripts/present --replay` plays back).

It is a rehearsal with recording on: every box runs for real, on a real Docker engine (and
the workshop cluster when one answers), and each box's terminal is saved as ID.cast, after the
box's id in the deck. The rehearsal records into a scratch folder first; only the boxes that
passed replace their old recording, so a failed step never overwrites a good one.
`--prune` removes the recordings no box of the deck names any more, and records nothing.
"""

import argparse
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from workshop.cli import FAILED, OK, WorkshopError, run
from workshop.cluster import kubectl
from workshop.commands.options import add_deck_options, add_recordings_option, chosen
from workshop.machine.engine import ENGINE as engine
from workshop.paths import recordings_for
from workshop.rehearsal import recordings
from workshop.rehearsal.engine import Options
from workshop.rehearsal.recordings import cast_name
from workshop.rehearsal.report import run_and_report


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/record",
        description="Run the deck's boxes for real and save each as a recording for scripts/present --replay.",
    )
    add_deck_options(parser)
    add_recordings_option(parser, "where the recordings go")
    parser.add_argument(
        "--prune", action="store_true", help="remove the recordings no box of the deck names, and record nothing"
    )
    return parser.parse_args(argv)


def prune(deck, folder: Path) -> int:
    gone = recordings.orphans(deck, folder) if folder.is_dir() else []
    for path in gone:
        path.unlink()
        print(f"record: removed {path} (no box of {deck.path.name} has the id {path.stem!r})")
    print(f"record: {len(gone)} recordings removed from {folder}; {len(list(deck.boxes()))} boxes in the deck")
    return OK


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    os.environ.pop("WORKSHOP_REPLAY", None)  # record the real thing, never a replay of a replay
    deck, slides, without = chosen(args)
    if args.prune:
        return prune(deck, args.recordings or recordings_for(args.deck))
    if engine.server_version(timeout=10) is None:
        raise WorkshopError("recording needs a Docker engine that answers: run scripts/prepare, then try again.")
    if "cluster" not in without and not kubectl.cluster_ready():
        print(
            "record: no workshop cluster answers, so the Kubernetes boxes are left as they are "
            "(scripts/cluster up, then record again to refresh them).",
            flush=True,
        )
        without.append("cluster")
    staging = Path(tempfile.mkdtemp(prefix="workshop-record-"))
    try:
        options = Options(slides=slides, without=without, record_dir=staging, recording_header=recordings.header())
        results, _ = run_and_report(deck, options)
        args.recordings = args.recordings or recordings_for(args.deck)
        args.recordings.mkdir(parents=True, exist_ok=True)
        kept = failed = 0
        for result in results:
            made = staging / cast_name(result.box)
            if result.skipped or not made.exists():
                continue
            if result.ok:
                shutil.move(str(made), args.recordings / made.name)
                kept += 1
            else:
                failed += 1
        print(
            f"record: {kept} recordings written to {args.recordings}"
            + (f"; {failed} failed boxes kept their previous recording" if failed else "")
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return OK if all(r.ok for r in results) else FAILED


if __name__ == "__main__":
    run(main, "record")
