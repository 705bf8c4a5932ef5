"""The student step checks, proven fail-first: during a rehearsal each `scripts/check STEP` runs
just before the first box of its step (where it must FAIL, with its hint) and just after the box
that completes the step (where it must PASS). `scripts/rehearse --check-steps` turns this on."""
import time
from typing import Dict, List, Tuple

from workshop.deck.reader import Box, Deck
from workshop.rehearsal import steps as check

# step -> (the command its first box starts with, the command of the box after which it works)
WINDOWS: Dict[str, Tuple[str, str]] = {
    "server": (check.SERVER_BOX, check.SERVER_BOX),
    "deb-image": (check.DEB_BOX, check.DEB_BOX),
    "py-image": (check.PY_BOX, check.PY_BOX),
    "container": (check.CONTAINER_BOX, check.CONTAINER_BOX),
    "arch": (check.PY_BOX, check.ARCH_BOX),
    "deployed": (check.APPLY_BOX, check.APPLY_BOX),
    "worker-limits": (check.APPLY_BOX, check.LIMITS_BOX),
    "service": (check.APPLY_BOX, check.SERVICE_BOX),
    "self-healed": (check.DELETE_POD_BOX, "kubectl wait --for=condition=Ready pods -l app=ok-web"),
    "scaled": (check.SCALE_BOX, check.SCALE_BOX),
    "drained": (check.DRAIN_BOX, check.UNCORDON_BOX),
    "rolled-out": (check.SET_IMAGE_BOX, check.SET_IMAGE_BOX),
    "rolled-back": (check.UNDO_BOX, check.UNDO_BOX),
    "repaired": (check.BROKEN_BOX, check.REPAIR_BOX),
}


SETTLE_SECONDS = 10.0     # after its box, a step may need a moment (a port to open, a pod to be ready)


class StepChecks:
    """For the rehearsal engine (Options.around): the checks around the deck's own boxes."""

    def __init__(self, deck: Deck):
        boxes = [box for box in deck.boxes() if box.typed]
        self.steps: Dict[Tuple[str, str], List[str]] = {}
        for step, (first, last) in WINDOWS.items():
            starts = [box.label for box in boxes if box.typed and box.typed.startswith(first)]
            ends = [box.label for box in boxes if box.typed and box.typed.startswith(last)]
            if starts and ends:
                self.steps.setdefault((starts[0], "before"), []).append(step)   # just before its first box
                self.steps.setdefault((ends[0], "after"), []).append(step)      # just after the box that does it

    def __call__(self, box: Box, moment: str) -> List[Tuple[bool, str]]:
        found = []
        for step in self.steps.get((box.label, moment), []):
            outcome = check.check(step)
            deadline = time.monotonic() + (SETTLE_SECONDS if moment == "after" else 0)
            while not outcome.ok and time.monotonic() < deadline:
                time.sleep(0.5)
                outcome = check.check(step)
            found.append((outcome.ok, outcome.line(step)))
        return found
