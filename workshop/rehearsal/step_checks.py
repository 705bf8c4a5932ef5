"""The student step checks, proven fail-first: during a rehearsal each `scripts/check STEP` runs
just before the first box of its step (where it must FAIL, with its hint) and just after the box
that completes the step (where it must PASS). `scripts/rehearse --check-steps` turns this on."""

import time

from workshop.deck.reader import Box, Deck
from workshop.rehearsal import step_table

SETTLE_SECONDS = 10.0  # after its box, a step may need a moment (a port to open, a pod to be ready)


class StepChecks:
    """For the rehearsal engine (Options.around): the checks around the deck's own boxes."""

    def __init__(self, deck: Deck):
        self.steps: dict[tuple[str, str], list[str]] = {}
        for step in step_table.STEPS:  # each step's window: its first box to the one that does it
            starts, ends = deck.step_boxes(step, "start"), deck.step_boxes(step, "done")
            if starts and ends:
                self.steps.setdefault((starts[0].label, "before"), []).append(step)  # just before its first box
                self.steps.setdefault((ends[0].label, "after"), []).append(step)  # just after the box that does it

    def __call__(self, box: Box, moment: str) -> list[tuple[bool, str]]:
        found = []
        for step in self.steps.get((box.label, moment), []):
            outcome = step_table.check(step)
            deadline = time.monotonic() + (SETTLE_SECONDS if moment == "after" else 0)
            while not outcome.ok and time.monotonic() < deadline:
                time.sleep(0.5)
                outcome = step_table.check(step)
            found.append((outcome.ok, outcome.line(step)))
        return found
