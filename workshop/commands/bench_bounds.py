"""The bench's figures that have a bound to meet, each beside the peer it is compared with, and the record
of the last run: `scripts/bench --all` prints them in one run, and `--docs` copies that run's lines, with
its date, into docs/development.md (between the two bench markers), so the documented figures are the
bench's, not anyone's memory.

    present     scripts/present to slide 1 on screen, the median of five starts; peer: lookatme alone on the
                same deck (no extensions, none of the workshop's checks)
    kind        (bench.py) the workshop's kind cluster to all nodes Ready against a bare kind create
    class       (bench_class.py) a student's steps, p95, with 8 students at once against a lone student
    prepare     scripts/prepare from a stopped engine (the workshop's own) and no cluster, to a ready
                cluster with the node image already here; peer: a bare `kind create cluster` (same image,
                nodes and config) up to all nodes Ready, the part no prepare can skip
    tui         the whole lecture walked in the real TUI on that cluster (scripts/rehearse --tui), pressing
                Enter in every box; peer: the same deck rehearsed headless (scripts/rehearse)
"""

import io
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

from ptyprocess import PtyProcess

from workshop import paths
from workshop.cli import WorkshopError, quiet
from workshop.cluster import providers
from workshop.machine import host, installed
from workshop.paths import DECK, ROOT
from workshop.presenter import timings
from workshop.rehearsal.terminal import plain

PREPARE_BOUND = 60.0  # seconds, a stopped engine to a ready cluster, the node image present
TUI_BOUND = 100.0  # seconds of machine time for the whole lecture in the real TUI, live
DOCS = ROOT / "docs" / "development.md"
BEGIN, END = "<!-- bench: begin (scripts/bench --all --docs writes this block) -->", "<!-- bench: end -->"


def against(value: float, limit: float, shown: str) -> str:
    """'(meets the 60 s bound)' or '(MISSES the 60 s bound)'."""
    return f"({'meets' if value <= limit else 'MISSES'} the {shown} bound)"


def step_seconds(output: str) -> dict[str, float]:
    """Each step's seconds from scripts/prepare's OK lines: `OK   engine      ... (4.7 s)`."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"OK\s+(\S+)\s.*\((\d+(?:\.\d+)?) s\)$", line)
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def prepare_figure(bare_kind: float) -> None:
    """Stops the workshop's engine (never one it did not start), then times scripts/prepare to a ready cluster
    (stand-ins where WORKSHOP_STANDINS or CI says so, as for any prepare)."""
    if installed.recorded() is None:
        print(
            "prepare     not timed: the engine that answers is not one the workshop started, so it is not the bench's to stop"
        )
        return
    providers.down(say=quiet)
    installed.stop()
    began = time.monotonic()
    done = host.run(
        [str(ROOT / "scripts" / "prepare")],
        timeout=1800,
        what="scripts/prepare",
    )
    seconds = time.monotonic() - began
    steps = step_seconds(done.stdout)
    slowest = sorted(steps.items(), key=lambda item: -item[1])[:3]
    print(
        f"prepare     a stopped engine to a ready cluster (node image here): {seconds:.1f} s "
        f"{against(seconds, PREPARE_BOUND, f'{PREPARE_BOUND:g} s')}; slowest steps "
        + ", ".join(f"{name} {value:.1f} s" for name, value in slowest)
        + f"; peer, a bare kind create to all nodes Ready: {bare_kind:.1f} s"
    )


def tui_figure() -> None:
    """The lecture live in the real TUI, then headless, on the cluster that is up; both leave it as they found it."""
    rehearse = str(ROOT / "scripts" / "rehearse")
    began = time.monotonic()
    walked = host.run([rehearse, "--tui"], timeout=1800, check=False, what="scripts/rehearse --tui")
    wall = time.monotonic() - began
    summary = next((line for line in walked.stdout.splitlines() if line.startswith("tui rehearsal:")), "")
    report = timings.load()
    if walked.returncode != 0 or report is None or report.mode != "tui":
        raise WorkshopError(f"the TUI walk failed: {summary or walked.stderr.strip()[-300:]}")
    boxes = sum(float(step.get("seconds") or 0) for step in report.steps)
    began = time.monotonic()
    headless = host.run([rehearse], timeout=1800, check=False, what="scripts/rehearse")
    peer = time.monotonic() - began
    if headless.returncode != 0:
        raise WorkshopError("the headless rehearsal failed: run scripts/rehearse to see which box")
    passed = re.search(r"(\d+) passed, (\d+) failed", summary)
    print(
        f"tui         the lecture live in the real TUI, Enter in every box: {wall:.1f} s "
        f"{against(wall, TUI_BOUND, f'{TUI_BOUND:g} s')} ({passed.group(1) if passed else '?'} boxes passed, "
        f"{boxes:.1f} s of it running them); peer, the same deck headless: {peer:.1f} s ({wall / peer:.2f}x)"
    )


PRESENT_BOUND = 0.4  # seconds from `scripts/present` to slide 1 on screen, the median of PRESENT_STARTS
PRESENT_STARTS = 5


def first_slide_seconds(argv: list[str]) -> float:
    """Seconds from starting argv in a 120x40 terminal until slide 1 is on its screen (then q)."""
    started = time.monotonic()
    child = PtyProcess.spawn(argv, dimensions=(40, 120), env={**os.environ, "TERM": "xterm-256color"}, cwd=str(ROOT))
    shown = b""
    try:
        while "slide 1 /" not in plain(shown.decode("utf-8", "replace")) and time.monotonic() - started < 30:
            shown += child.read(65536)
        seconds = time.monotonic() - started
        child.write(b"q")
        child.wait()
    except EOFError:
        seconds = time.monotonic() - started
    finally:
        if child.isalive():
            child.terminate(force=True)
    return seconds


def present_figure() -> None:
    """scripts/present on a ready machine, beside its peer: lookatme alone on the same deck (no extensions,
    none of the workshop's checks), the median of five starts each, side by side in one run."""
    ours, peer = [], []
    for _ in range(PRESENT_STARTS):  # interleaved, so a busy moment of the machine weighs on both
        ours.append(first_slide_seconds([str(ROOT / "scripts" / "present")]))
        peer.append(first_slide_seconds([sys.executable, "-m", "lookatme", "--safe", str(DECK)]))
    print(
        f"present     first slide on screen: median {median(ours):.2f} s of {PRESENT_STARTS} starts "
        f"({min(ours):.2f} to {max(ours):.2f}) {against(median(ours), PRESENT_BOUND, f'{PRESENT_BOUND} s')}; peer, "
        f"lookatme alone on the same deck: median {median(peer):.2f} s ({median(ours) / median(peer):.2f}x)"
    )


class Lines(io.TextIOBase):
    """A stdout that hands each whole line printed to say."""

    def __init__(self, say: Callable[[str], None]):
        self.say, self.partial = say, ""

    def write(self, text: str) -> int:
        self.partial += text
        *whole, self.partial = self.partial.split("\n")
        for line in whole:
            self.say(line)
        return len(text)


def record_file() -> Path:
    return paths.state_dir("logs") / "bench-last.txt"


def save(lines: list[str], when: str) -> Path:
    """The run's lines, with its date, where --docs and the next reader find them."""
    path = record_file()
    path.write_text(f"scripts/bench --all, {when}\n" + "".join(line + "\n" for line in lines))
    return path


def write_docs(docs: Path = DOCS) -> None:
    """Replace the bench block of docs/development.md with the last run's record, as it was printed."""
    try:
        record = record_file().read_text()
    except OSError:
        raise WorkshopError("no bench run on record here: run scripts/bench --all first") from None
    text = docs.read_text()
    if BEGIN not in text or END not in text:
        raise WorkshopError(f"{docs} has no bench block ({BEGIN} ... {END}): put one back where the figures go")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    docs.write_text(f"{head}{BEGIN}\n\n```text\n{record}```\n\n{END}{tail}")
