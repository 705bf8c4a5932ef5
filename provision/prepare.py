"""scripts/prepare: make this machine ready for the workshop, one step after another.

Each step is idempotent and returns a one-line summary; a second run only checks and takes seconds.
`scripts/prepare STEP...` runs only the steps named (CI leaves the cluster to the tests)."""

import itertools
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from provision import class_terminal, engine_install, node_image
from provision.standins import base_images
from workshop.cli import Note, WorkshopError, run
from workshop.cluster import providers, warm_up
from workshop.machine import app_images, registry


def kind_node_image(note: Note) -> str:
    """kind's node image, unless the workshop uses a cluster you brought (scripts/cluster up --context)."""
    choice = providers.chosen()
    if choice and choice.get("provider") != "kind":
        return f"not needed: the workshop uses your {choice.get('provider')} cluster"
    return node_image.ensure(note)


class Step(NamedTuple):
    name: str
    what: str
    action: Callable[[Note], str]
    default: bool = True  # run when no step is named; the others only when named
    beside: bool = False  # runs in a thread, after the steps before it, while the next ones go on here
    joins: bool = False  # first waits for the steps running beside (it uses what they make)


STEPS: list[Step] = [
    Step("engine", "a Docker engine answers", engine_install.ensure_engine),
    Step("images", "the base images exist under their exact tags", base_images.ensure_base_images),
    Step("registry", "the local registry answers on localhost:5001", registry.up),
    # kind's node image and the cluster come up beside the image builds (they need only the engine, the
    # base images and the registry): the longest wait of a prepare overlaps the rest
    Step("node-image", "kind's node image is here: pulled, or built where it cannot be", kind_node_image, beside=True),
    Step("cluster", "the workshop cluster answers (scripts/cluster up)", warm_up.cluster_up, beside=True),
    Step("app-images", "the images the manifests name are in the local registry", app_images.ensure_app_images),
    Step(
        "deck-images",
        "the deck's docker build commands ran once (in class they hit the cache)",
        app_images.build_deck_images,
    ),
    Step("warm-up", "the node already holds every image the deck's rollouts use", warm_up.warm_cluster, joins=True),
    Step(
        "class-terminal",
        "the class's browser terminal image is in the local registry (scripts/class serve; only when named)",
        class_terminal.ensure,
        default=False,
        joins=True,  # its kubectl comes from the node image
    ),
]

NAME_WIDTH = 11


def line(status: str, name: str, text: str, seconds: float | None = None) -> str:
    timing = f" ({seconds:.1f} s)" if seconds is not None else ""
    return f"{status:<4} {name:<{NAME_WIDTH}} {text}{timing}"


def run_steps(steps: Sequence[Step], out=sys.stdout) -> float:
    """Run steps in order, one line each; raise WorkshopError naming the step that failed. Consecutive steps
    marked beside run one after another in a thread while the steps after them run here, until a step
    that joins them (or the end) waits for them; a failure there is raised then."""
    start = time.monotonic()
    background: Background | None = None
    for beside, group in itertools.groupby(steps, key=lambda step: step.beside):
        if beside:
            if background is not None:
                background.finish()
            background = Background(list(group), out)
            continue
        for step in group:
            if step.joins and background is not None:
                background.finish()
                background = None
            run_step(step, out)
    if background is not None:
        background.finish()
    return time.monotonic() - start


def run_step(step: Step, out) -> None:
    def note(text: str) -> None:
        print(line("..", step.name, text), file=out, flush=True)

    began = time.monotonic()
    try:
        summary = step.action(note)
    except WorkshopError as error:
        print(line("FAIL", step.name, step.what, time.monotonic() - began), file=out, flush=True)
        raise WorkshopError(f"{step.name}: {error}", error.exit_code) from error
    print(line("OK", step.name, summary, time.monotonic() - began), file=out, flush=True)


class Background:
    """Steps run one after another in a thread of their own; finish() waits for them and raises what
    stopped them, if anything did."""

    def __init__(self, steps: Sequence[Step], out):
        self.steps, self.out = list(steps), out
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="prepare-beside")
        self.thread.start()

    def _run(self) -> None:
        try:
            for step in self.steps:
                run_step(step, self.out)
        except BaseException as error:  # raised again by finish(), in the main thread
            self.error = error

    def finish(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error


def main(argv: Sequence[str]) -> int:
    names = [step.name for step in STEPS]
    if any(arg in ("-h", "--help") for arg in argv):
        print(
            "usage: scripts/prepare [--standins] [STEP...]\n\nMake this machine ready for the workshop; "
            "with no STEP, every step in order:"
        )
        for step in STEPS:
            print(f"  {step.name:<{NAME_WIDTH}} {step.what}")
        print(
            "\n--standins: where no registry can be reached, build labelled stand-ins of the base images "
            "instead of failing (CI does this on its own)"
        )
        return 0
    if "--standins" in argv:
        os.environ["WORKSHOP_STANDINS"] = "1"
        argv = [arg for arg in argv if arg != "--standins"]
    unknown = [arg for arg in argv if arg not in names]
    if unknown:
        raise WorkshopError(f"unknown step {unknown[0]!r}; the steps are: {', '.join(names)}")
    chosen = [step for step in STEPS if step.name in argv or (not argv and step.default)]
    total = run_steps(chosen)
    print(f"ready: {', '.join(step.name for step in chosen)} in {total:.1f} s")
    return 0


if __name__ == "__main__":
    run(main, "prepare")
