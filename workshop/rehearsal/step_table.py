"""The one table of the student steps: each check and what it says it checks. Where each step starts,
where it is done and which boxes catch-up may pass over are said in the decks (`step:` directives
under the boxes, read by step_checks and catch-up); scripts/check reads this table."""

from collections.abc import Callable
from typing import NamedTuple

from workshop.cli import WorkshopError
from workshop.names import DEB_IMAGE, PY_IMAGE
from workshop.rehearsal import boxes
from workshop.rehearsal.steps import (
    Failed,
    Outcome,
    check_arch,
    check_container,
    check_deployed,
    check_drained,
    check_image,
    check_repaired,
    check_rolled_back,
    check_rolled_out,
    check_scaled,
    check_self_healed,
    check_server,
    check_service,
    check_worker_limits,
)


class Step(NamedTuple):
    what: str
    run: Callable[[], str]


STEPS: dict[str, Step] = {
    "server": Step("the host server answers on localhost:3000", check_server),
    "deb-image": Step(f"{DEB_IMAGE} is built", lambda: check_image(DEB_IMAGE, boxes.BUILD_DEB)),
    "py-image": Step(
        f"{PY_IMAGE} is built and runs as non-root", lambda: check_image(PY_IMAGE, boxes.BUILD_PY, non_root=True)
    ),
    "container": Step("the containerized server answers on localhost:8000 from Linux", check_container),
    "arch": Step(f"{PY_IMAGE} is built for this engine's CPU and runs on it", check_arch),
    "deployed": Step("ok-web 2/2 ready, ok-worker and redis Available", check_deployed),
    "worker-limits": Step("ok-worker runs as non-root, read-only, with CPU and memory limits", check_worker_limits),
    "service": Step("inside the cluster, ok-web is the Service's ClusterIP and reaches both pods", check_service),
    "self-healed": Step("ok-web is back to 2 ready pods after one was deleted", check_self_healed),
    "scaled": Step("ok-worker has 3 ready replicas", check_scaled),
    "drained": Step("a worker node was drained of ok-worker's pods and uncordoned (several nodes)", check_drained),
    "rolled-out": Step("ok-web runs okpy-mini:v2 and its rollout is complete", check_rolled_out),
    "rolled-back": Step("ok-web is back on okpy-mini:v1 after the rollout to v2", check_rolled_back),
    "repaired": Step("ok-web is back on a real image after the rollout to the missing v3", check_repaired),
}


def check(step: str) -> Outcome:
    try:
        return Outcome(True, STEPS[step].run())
    except Failed as failure:
        return Outcome(False, failure.found, failure.hint)
    except WorkshopError as error:
        return Outcome(False, str(error).splitlines()[0], "scripts/doctor shows what this machine lacks")


def listing() -> str:
    width = max(map(len, STEPS))
    return "\n".join(f"  {name:<{width}}  {step.what}" for name, step in STEPS.items())
