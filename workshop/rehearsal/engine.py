"""Run the deck's boxes for real, slide by slide, as a presenter would, and judge each one.

Each box gets its own workshop shell in a pseudo-terminal (the same command lookatme runs),
its pre-typed command is typed and Enter pressed; the exit status comes from the shell
itself. A long-running box ('ready:') stays up while the slide's later boxes run and gets
Ctrl-C when the slide ends. Whatever happens, everything started is stopped afterwards.
"""

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from workshop.cluster import diagnosis
from workshop.deck.docker_commands import container_names
from workshop.deck.geometry import box_columns
from workshop.deck.reader import Box, Deck
from workshop.rehearsal import cleanup, needs
from workshop.rehearsal.recordings import Recording, cast_name
from workshop.rehearsal.terminal import ShellError, ShellSession

PROMPT_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
CLUSTER_CHECK_EVERY = 10.0  # while a cluster box runs, look for stuck pods this often


@dataclass
class StepResult:
    box: Box
    ok: bool
    seconds: float = 0.0
    status: int | None = None
    output: str = ""
    problem: str = ""
    skipped: str = ""
    left_out: bool = False  # skipped because --without named one of its needs
    details: list[str] = field(default_factory=list)  # e.g. stuck pods and their events
    checks: list[str] = field(default_factory=list)  # what the checks around it found

    @property
    def verdict(self) -> str:
        return "SKIP" if self.skipped else ("OK" if self.ok else "FAIL")


@dataclass
class _Running:
    box: Box
    session: ShellSession
    recording: Recording | None
    result: StepResult


@dataclass
class Options:
    slides: list[int] | None = None  # None: all
    without: Iterable[str] = ()  # skip boxes that need any of these
    stop_first: bool = False
    record_dir: Path | None = None
    recording_header: dict = field(default_factory=dict)
    around: Optional["Around"] = None  # checks run just before and just after a box


# Checks around a box, called with (box, "before") just before it is typed and (box, "after")
# once it has done its work (a long-running box: once it is ready). They answer [(ok, what each
# found)], empty when the box is none of their business: a step check must fail before and pass after.
Around = Callable[[Box, str], list[tuple[bool, str]]]


def judge(box: Box, status: int | None, output: str) -> str:
    """Why the step failed, or '' when it passed."""
    rules = box.directives
    if status is None:
        return f"timed out after {rules.timeout:g} s"
    if not rules.status_ok(status):
        return f"exit status {status}, expected {rules.describe_status()}"
    for pattern in rules.expect:
        if not re.search(pattern, output, re.MULTILINE):
            return f"output does not match {pattern!r}"
    for pattern in rules.reject:
        if re.search(pattern, output, re.MULTILINE):
            return f"output matches {pattern!r}, which it must not"
    return ""


class Rehearsal:
    def __init__(self, deck: Deck, options: Options, report: Callable[[StepResult], None] = lambda r: None):
        self.deck, self.options, self.report = deck, options, report
        self.columns = box_columns(deck.meta)
        self.results: list[StepResult] = []
        self._worker_count: int | None = None
        self.tracker = cleanup.Tracker(container_names(box.typed or "" for box in deck.boxes()))

    def run(self) -> list[StepResult]:
        self.tracker.snapshot()
        try:
            for slide in self.deck.slides:
                if self.options.slides and slide.number not in self.options.slides:
                    continue
                if not self._slide(slide.boxes):
                    break
        finally:
            self.tracker.clean()
        return self.results

    def _slide(self, boxes: list[Box]) -> bool:
        running: list[_Running] = []
        keep_going = True
        try:
            for box in boxes:
                missing = sorted(set(box.directives.needs) & set(self.options.without))
                skip = f"needs {', '.join(missing)}" if missing else needs.skip_reason(box, self._workers)
                if skip:
                    self._record_result(StepResult(box, ok=True, skipped=skip, left_out=bool(missing)))
                    continue
                time.sleep(box.directives.pause)  # the presenter's, before a box that reads settled state
                result, still_running = self._step(box)
                if still_running:
                    running.append(still_running)
                self._record_result(result)
                if not result.ok and self.options.stop_first:
                    keep_going = False
                    break
        finally:
            for item in running:  # the slide ends: Ctrl-C to what is still running
                if not self._stop(item):
                    self.report(item.result)
        return keep_going and not (self.options.stop_first and any(not r.ok for r in self.results))

    def _workers(self) -> int:
        """The cluster's worker nodes, asked once per rehearsal."""
        if self._worker_count is None:
            self._worker_count = needs.worker_nodes()
        return self._worker_count

    def _record_result(self, result: StepResult) -> None:
        self.results.append(result)
        self.report(result)

    def _session(self, box: Box):
        recording = None
        on_output = None
        if self.options.record_dir is not None:
            recording = Recording(self.columns, box.rows, box.typed or box.command, self.options.recording_header)
            on_output = recording.output
        session = ShellSession(box.command, cols=self.columns, rows=box.rows, on_output=on_output)
        self.tracker.add_session(session)
        return session, recording

    def _step(self, box: Box):
        """Run one box; returns its result and, for a long-running box that is up, what to stop later."""
        started = time.monotonic()
        result = StepResult(box, ok=False)
        session = recording = running = None
        before = self._check(box, "before", result)
        in_the_way = needs.port_in_the_way(box)
        if in_the_way:  # found before it runs: nothing of the box starts, the other server stays
            result.problem, result.details = "a port it listens on is taken (see below)", [in_the_way]
            result.seconds = time.monotonic() - started
            return result, None
        try:
            session, recording = self._session(box)
            session.wait_prompt(timeout=PROMPT_TIMEOUT)
            if box.typed is None:
                result.ok = True
            else:
                if recording:
                    recording.marker(time.monotonic() - session.started, "enter")
                mark = session.type_line(box.typed)
                if box.directives.long_running:
                    running = self._wait_ready(box, session, recording, mark, result)
                else:
                    self._finish(box, session, mark, result)
        except ShellError as error:
            result.problem = str(error)
        finally:
            result.seconds = time.monotonic() - started
            if running is None:
                self._close(box, session, recording)
        if result.ok:
            after = self._check(box, "after", result)
            wrong = [why for why in (before, after) if why]
            if wrong:
                result.ok, result.problem = False, wrong[0]
        return result, running

    def _check(self, box: Box, moment: str, result: StepResult) -> str | None:
        """Run the check around the box at this moment; what is wrong with its answer, if anything."""
        wrong = None
        expected = moment == "after"
        for ok, what in self.options.around(box, moment) if self.options.around else []:
            result.checks.append(f"{moment}: {what}")
            if ok != expected and wrong is None:
                wrong = f"the check {moment} the box {'failed' if expected else 'passed'}: {what}"
        return wrong

    def _finish(self, box: Box, session: ShellSession, mark: int, result: StepResult) -> None:
        """Wait for the command; a cluster box fails early, with the cause, when pods get stuck."""
        deadline = time.monotonic() + box.directives.timeout
        watch = "cluster" in box.directives.needs
        expected = self._broken_on_purpose(box) if watch else ()
        while True:
            left = deadline - time.monotonic()
            step = min(left, CLUSTER_CHECK_EVERY) if watch else left
            result.status, result.output = session.finish(mark, max(step, 0.0))
            if result.status is not None or left <= step:
                break
            result.details = diagnosis.explain(expected)
            if result.details:
                result.problem = diagnosis.problem(result.details)
                return
        result.problem = judge(box, result.status, result.output)
        result.ok = not result.problem
        if not result.ok:
            result.details = ([fix] if (fix := needs.explain_failure(box, result.output)) else []) + (
                diagnosis.explain() if watch else []
            )

    def _broken_on_purpose(self, box: Box) -> tuple[str, ...]:
        """The labels of pods the deck breaks on purpose by this box (its 'stuck:' directives so far):
        a box waiting while they crash is not stopped early for them."""
        selectors: list[str] = []
        for earlier in self.deck.boxes():
            selectors.extend(earlier.directives.stuck)
            if earlier is box:
                break
        return tuple(selectors)

    def _wait_ready(self, box, session, recording, mark, result) -> _Running | None:
        rules = box.directives
        deadline = time.monotonic() + rules.timeout
        ready = None
        # wait for the ready line, but stop waiting as soon as the command has ended without it
        while ready is None and time.monotonic() < deadline and session.read_status() is None:
            ready = session.wait_for(rules.ready, mark, min(0.5, max(deadline - time.monotonic(), 0.0)))
        result.output = session.output_since(mark)
        if ready is not None:
            result.ok = True
            return _Running(box, session, recording, result)
        ended = session.read_status()
        result.problem = (
            f"ended with exit status {ended} before printing {rules.ready!r}"
            if ended is not None
            else f"no line matching {rules.ready!r} within {rules.timeout:g} s"
        )
        fix = needs.explain_failure(box, result.output)
        result.details = [fix] if fix else []
        return None

    def _stop(self, item: _Running) -> bool:
        """Ctrl-C a long-running box at the end of its slide; False (and a failed result) if it ignores it."""
        mark = item.session.mark
        item.session.interrupt()
        status, _ = item.session.finish(mark, STOP_TIMEOUT)
        if status is None:
            item.result.ok = False
            item.result.problem = f"still running {STOP_TIMEOUT:g} s after Ctrl-C at the end of the slide"
            item.result.output = item.session.output_since(0)
        self._close(item.box, item.session, item.recording)
        return status is not None

    def _close(self, box: Box, session: ShellSession | None, recording: Recording | None) -> None:
        if session is None:
            return
        self.tracker.close_session(session)
        if recording is not None and self.options.record_dir is not None:
            recording.write(Path(self.options.record_dir) / cast_name(box))
