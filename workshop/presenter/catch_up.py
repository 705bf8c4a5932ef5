"""Catch-up: bring the machine to where a slide starts, by running the deck's boxes before it
headlessly with the rehearsal engine, one slide at a time, as a rehearsal would: each box in its
own workshop shell, long-running ones kept up for their slide's next boxes and stopped at its end,
everything the engine started stopped afterwards, whatever happens.

Two differences from a rehearsal. A box whose step is already in effect (its student check
passes, see commands/catch_up.py) is passed over, so a second run does only what is missing.
And a box is run for what it does, not for what it prints: it is judged by its exit status (and
a long-running box by its ready line), since output such as a queue length depends on the earlier
state of a machine that is already further along."""

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from workshop.cli import FAILED, Note, WorkshopError, quiet
from workshop.cluster import warm_up
from workshop.deck.reader import Box, Deck, Slide
from workshop.names import PART_OF
from workshop.paths import state_dir
from workshop.rehearsal import needs
from workshop.rehearsal.engine import Options, Rehearsal, StepResult
from workshop.rehearsal.report import one_line

# Why a box's step is already in effect (shown on its DONE line), or None when it must run.
InEffect = Callable[[Box], str | None]


def target(deck: Deck, text: str) -> int:
    """The slide named on the command line: its number, or words of its title."""
    count = len(deck.slides)
    if text.strip().isdigit():
        number = int(text)
        if not 1 <= number <= count:
            raise WorkshopError(f"there is no slide {number}: {deck.path.name} has slides 1 to {count}")
        return number
    words = text.strip().lower()
    found = [slide.number for slide in deck.slides if slide.title.lower() == words] or [
        slide.number for slide in deck.slides if words in slide.title.lower()
    ]
    if len(found) != 1:
        how = (
            "no slide title contains"
            if not found
            else f"{len(found)} slide titles (slides {', '.join(map(str, found))}) contain"
        )
        raise WorkshopError(f"{how} {text!r}: give the slide's number, 1 to {count}")
    return found[0]


def boxes_before(deck: Deck, slide: int) -> list[Box]:
    return [box for box in deck.boxes() if box.slide < slide]


def by_exit_status(box: Box) -> Box:
    return replace(box, directives=replace(box.directives, expect=(), reject=()))


def step_line(verdict: str, box: Box, seconds: float | None = None, why: str = "") -> str:
    took = f"{seconds:6.1f}s" if seconds is not None else " " * 7
    line = f"{verdict:<5} {took}  {box.label:<15} {one_line(box.typed or box.command, 60)}"
    return line + (f"  ({why})" if why else "")


class CatchUp:
    def __init__(self, deck: Deck, slide: int, in_effect: InEffect, say: Note = print, without: Sequence[str] = ()):
        self.deck, self.slide, self.in_effect, self.say, self.without = deck, slide, in_effect, say, tuple(without)
        self.ran = self.done = 0
        self.log = state_dir("logs") / "catch-up.log"

    def run(self) -> str:
        """Run what is missing; returns the summary line, or raises WorkshopError naming the box that failed."""
        started = time.monotonic()
        boxes = boxes_before(self.deck, self.slide)
        if not boxes:
            return f"catch-up: nothing to run before slide {self.slide}"
        unmet = needs.first_unmet(boxes, self.without, files=False)
        if unmet:
            raise WorkshopError(f"the boxes before slide {self.slide} cannot run here: {unmet}")
        for slide in self.deck.slides[: self.slide - 1]:
            if slide.boxes:
                self._slide(slide)
        self._settle(boxes)
        return (
            f"catch-up: ready for slide {self.slide} ({self.deck.slide(self.slide).title}): {self.ran} "
            f"box(es) run, {self.done} already done, in {time.monotonic() - started:.1f} s"
        )

    def _slide(self, slide: Slide) -> None:
        done: dict[int, str] = {}
        for box in slide.boxes:  # checked when the slide starts, as its boxes would see it
            why = self.in_effect(box)
            if why:
                done[box.position] = why
        waiting = sorted(done)

        def report(result: StepResult) -> None:  # the lines in box order, passed-over boxes included
            while waiting and waiting[0] < result.box.position:
                self._done(slide.boxes[waiting.pop(0) - 1], done)
            self.say(step_line(result.verdict, result.box, result.seconds, result.problem or result.skipped))

        run = [by_exit_status(box) for box in slide.boxes if box.position not in done]
        if run:
            one = Deck(self.deck.path, self.deck.meta, [replace(slide, boxes=run)])
            options = Options(slides=[slide.number], without=self.without, stop_first=True)
            results = Rehearsal(one, options, report=report).run()
            self.ran += sum(not result.skipped for result in results)
            failed = next((result for result in results if not result.ok), None)
            if failed:
                raise self._failure(failed)
        while waiting:
            self._done(slide.boxes[waiting.pop(0) - 1], done)

    def _settle(self, boxes: list[Box]) -> None:
        """Where the boxes left the app's pods being replaced (a drain, a deletion), wait until every
        Deployment is Available again, as it would be by the time the presenter reaches the slide."""
        if "cluster" in self.without or not any("cluster" in box.directives.needs for box in boxes):
            return
        if not warm_up.app_deployments():
            return
        seconds = warm_up.timed_rollout(
            quiet, "wait", "--for=condition=Available", "deployment", "-l", PART_OF, "--timeout=120s"
        )
        if seconds >= 0.5:
            self.say(f"{'WAIT':<5} {seconds:6.1f}s  until every Deployment of the app is Available again")

    def _done(self, box: Box, done: dict[int, str]) -> None:
        self.done += 1
        self.say(step_line("DONE", box, why=f"already in effect: {done[box.position]}"))

    def _failure(self, failed: StepResult) -> WorkshopError:
        box = failed.box
        self.log.write_text(
            f"{box.label}: {box.typed}\n{failed.problem}\n"
            + "\n".join(failed.details)
            + "\n--- its output ---\n"
            + failed.output
        )
        fix = (
            needs.first_unmet([box], files=False)
            or f"its output is in {self.log}; fix what it says (scripts/doctor checks the machine)"
        )
        problem = failed.problem.rstrip(".")
        return WorkshopError(
            f"{box.label} failed (`{one_line(box.typed or box.command, 60)}`): {problem}. "
            f"Fix: {fix}, then run scripts/catch-up {self.slide} again (what is done is passed "
            "over); nothing it started is left running",
            exit_code=FAILED,
        )
