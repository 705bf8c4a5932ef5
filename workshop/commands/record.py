"""The record command: refresh recordings/ (what `scripts/present --replay` plays back).

It is a rehearsal with recording on: every box runs for real, on a real Docker engine (and
the workshop cluster when one answers), and each box's terminal is saved as
slide-NN-box-M.cast. The rehearsal records into a scratch folder first; only the boxes that
passed replace their old recording, so a failed step never overwrites a good one.
"""

import argparse
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from workshop.cli import FAILED, OK, WorkshopError, run
from workshop.cluster import kubectl
from workshop.commands.options import add_deck_options, chosen
from workshop.machine import engine
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
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where the recordings go (default: the deck's, recordings/ for slides.md, recordings/extras/ for extras.md)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    os.environ.pop("WORKSHOP_REPLAY", None)  # record the real thing, never a replay of a replay
    deck, slides, without = chosen(args)
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
        args.dir = args.dir or recordings_for(args.deck)
        args.dir.mkdir(parents=True, exist_ok=True)
        kept = failed = 0
        for result in results:
            made = staging / cast_name(result.box)
            if result.skipped or not made.exists():
                continue
            if result.ok:
                shutil.move(str(made), args.dir / made.name)
                kept += 1
            else:
                failed += 1
        print(
            f"record: {kept} recordings written to {args.dir}"
            + (f"; {failed} failed boxes kept their previous recording" if failed else "")
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return OK if all(r.ok for r in results) else FAILED


if __name__ == "__main__":
    run(main, "record")
