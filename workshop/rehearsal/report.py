"""Running a rehearsal and reporting it: one line per step, a summary line, a JSON report.
The rehearse, record and bench commands all print through this."""

import json
import sys
import time
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.deck.reader import Deck
from workshop.rehearsal.engine import Options, Rehearsal, StepResult

TAIL_LINES = 12


def one_line(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def print_step(result: StepResult) -> None:
    box = result.box
    print(
        f"{result.verdict:<4} {result.seconds:6.1f}s  {box.label:<15} {one_line(box.typed or box.command)}", flush=True
    )
    if result.skipped:
        if not result.left_out:  # a box left out with --without needs no explaining
            print(f"     why: {result.skipped}", flush=True)
        return
    for line in result.checks:
        print(f"     check {line}", flush=True)
    if not result.ok:
        print(f"     why: {result.problem}")
        for line in result.details:
            print(f"     {line}")
        for line in result.output.rstrip().splitlines()[-TAIL_LINES:]:
            print(f"     | {line}")
        sys.stdout.flush()


def summary(results: list[StepResult], seconds: float) -> str:
    ran = [r for r in results if not r.skipped]
    passed = sum(r.ok for r in ran)
    failed = len(ran) - passed
    text = f"rehearsal: {passed} passed, {failed} failed, {len(results) - len(ran)} skipped in {seconds:.1f} s"
    if ran:
        slowest = max(ran, key=lambda r: r.seconds)
        text += f" (slowest: {slowest.box.label}, {slowest.seconds:.1f} s)"
    return text


def run_and_report(deck: Deck, options: Options) -> tuple[list[StepResult], float]:
    """Run the rehearsal, one line per step, then the summary line; returns (results, seconds)."""
    started = time.monotonic()
    results = Rehearsal(deck, options, report=print_step).run()
    seconds = time.monotonic() - started
    if not results:
        raise WorkshopError("no terminal boxes in the chosen slides: nothing to do")
    print(summary(results, seconds))
    return results, seconds


OUTPUT_LINES = 40  # of a failed step's output, kept in the JSON report for whoever reads it later


def write_json(
    path: Path, deck_path: Path, results: list[StepResult], seconds: float, extra: dict | None = None
) -> None:
    steps = [
        {
            "slide": r.box.slide,
            "box": r.box.position,
            "id": r.box.id,
            "line": r.box.line,
            "command": r.box.typed,
            "verdict": r.verdict,
            "seconds": round(r.seconds, 3),
            "exit_status": r.status,
            "problem": r.problem or None,
            "details": r.details or None,
            "skipped": r.skipped or None,
            "checks": r.checks or None,
            "output": "\n".join(r.output.splitlines()[-OUTPUT_LINES:]) if not r.ok and r.output else None,
        }
        for r in results
    ]
    report = {
        "deck": str(deck_path),
        "total_seconds": round(seconds, 3),
        "passed": sum(r.ok and not r.skipped for r in results),
        "failed": sum(not r.ok for r in results),
        "steps": steps,
        **(extra or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
