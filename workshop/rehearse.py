"""The rehearse command: run every live box of the deck for real and print one line per step."""
import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import List, Sequence

from . import deck as deck_reader
from . import docker_engine, kubeconfig
from .cli import WorkshopError, run
from .directives import KNOWN_NEEDS
from .paths import DECK
from .rehearsal import Options, Rehearsal, StepResult

TAIL_LINES = 12


def one_line(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def print_step(result: StepResult) -> None:
    box = result.box
    print(f"{result.verdict:<4} {result.seconds:6.1f}s  {box.label:<15} {one_line(box.typed or box.command)}", flush=True)
    if result.skipped:
        return
    if not result.ok:
        print(f"     why: {result.problem}")
        for line in result.details:
            print(f"     {line}")
        for line in result.output.rstrip().splitlines()[-TAIL_LINES:]:
            print(f"     | {line}")
        sys.stdout.flush()


def tool_versions() -> dict:
    """What a recording was made with, for its header."""
    versions = {"python": platform.python_version(), "os": f"{platform.system()} {platform.release()}"}
    try:
        kubectl = kubeconfig.client_version()
    except WorkshopError:               # no kubectl at all
        kubectl = None
    for name, version in (("docker", docker_engine.server_version(timeout=10)), ("kubectl", kubectl)):
        if version:
            versions[name] = version
    return versions


def recording_header() -> dict:
    """What every recording's header says about when and with what it was made."""
    return {"workshop": {"recorded": time.strftime("%Y-%m-%d"), "versions": tool_versions()}}


def run_and_report(deck, options: Options):
    """Run the rehearsal, one line per step, then the summary line; returns (results, seconds)."""
    started = time.monotonic()
    results = Rehearsal(deck, options, report=print_step).run()
    seconds = time.monotonic() - started
    if not results:
        raise WorkshopError("no terminal boxes in the chosen slides: nothing to do")
    print(summary(results, seconds))
    return results, seconds


def summary(results: List[StepResult], seconds: float) -> str:
    ran = [r for r in results if not r.skipped]
    passed = sum(r.ok for r in ran)
    failed = len(ran) - passed
    text = f"rehearsal: {passed} passed, {failed} failed, {len(results) - len(ran)} skipped in {seconds:.1f} s"
    if ran:
        slowest = max(ran, key=lambda r: r.seconds)
        text += f" (slowest: {slowest.box.label}, {slowest.seconds:.1f} s)"
    return text


def write_json(path: Path, deck_path: Path, results: List[StepResult], seconds: float) -> None:
    steps = [{"slide": r.box.slide, "box": r.box.position, "line": r.box.line, "command": r.box.typed,
              "verdict": r.verdict, "seconds": round(r.seconds, 3), "exit_status": r.status,
              "problem": r.problem or None, "details": r.details or None, "skipped": r.skipped or None}
             for r in results]
    report = {"deck": str(deck_path), "total_seconds": round(seconds, 3),
              "passed": sum(r.ok and not r.skipped for r in results),
              "failed": sum(not r.ok for r in results), "steps": steps}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/rehearse",
                                     description="Run every live box of the deck for real, in slide order.")
    parser.add_argument("--deck", type=Path, default=DECK, help="the deck to rehearse (default: slides.md)")
    parser.add_argument("--slides", help="only these slides, e.g. 4-9 or 2,5,11-12")
    parser.add_argument("--without", default="", help=f"skip boxes that need these ({', '.join(KNOWN_NEEDS)})")
    parser.add_argument("-x", "--stop-first", action="store_true", help="stop at the first failure")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write a report with per-step timings")
    parser.add_argument("--record", type=Path, metavar="DIR", help="record each box as an asciicast v2 file")
    parser.add_argument("--list", action="store_true", help="list the steps without running them")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    deck = deck_reader.read(args.deck)
    without = [w.strip() for w in args.without.split(",") if w.strip()]
    unknown = [w for w in without if w not in KNOWN_NEEDS]
    if unknown:
        raise WorkshopError(f"--without {unknown[0]}: choose from {', '.join(KNOWN_NEEDS)}")
    slides = deck_reader.parse_slide_ranges(args.slides, len(deck.slides)) if args.slides else None
    if args.list:
        for box in deck.boxes():
            if slides is None or box.slide in slides:
                print(f"{box.label:<15} {box.typed or box.command}")
        return 0
    options = Options(slides=slides, without=without, stop_first=args.stop_first,
                      record_dir=args.record, recording_header=recording_header() if args.record else {})
    results, seconds = run_and_report(deck, options)
    if args.json:
        write_json(args.json, args.deck, results, seconds)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    run(main, "rehearse")
