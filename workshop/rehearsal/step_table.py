"""The one table of the student steps: each check, the box where its step starts and the one after which it
works, and the box catch-up may pass over. scripts/check, the rehearsal's fail-first windows (step_checks)
and catch-up all read it."""

from workshop.cli import WorkshopError
from workshop.names import DEB_IMAGE, PY_IMAGE
from workshop.rehearsal.boxes import (
    APPLY_BOX,
    ARCH_BOX,
    BROKEN_BOX,
    CONTAINER_BOX,
    DEB_BOX,
    DELETE_POD_BOX,
    DEPLOYED_BOX,
    DRAIN_BOX,
    HEALED_BOX,
    LIMITS_BOX,
    PY_BOX,
    REPAIR_BOX,
    ROLLED_OUT_BOX,
    SCALE_APPLY_BOX,
    SCALE_BOX,
    SERVER_BOX,
    SERVICE_BOX,
    SET_IMAGE_BOX,
    UNCORDON_BOX,
    UNDO_BOX,
    Step,
)
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

STEPS: dict[str, Step] = {
    "server": Step("the host server answers on localhost:3000", check_server, SERVER_BOX, SERVER_BOX, SERVER_BOX),
    "deb-image": Step(f"{DEB_IMAGE} is built", lambda: check_image(DEB_IMAGE, DEB_BOX), DEB_BOX, DEB_BOX, DEB_BOX),
    "py-image": Step(
        f"{PY_IMAGE} is built and runs as non-root",
        lambda: check_image(PY_IMAGE, PY_BOX, non_root=True),
        PY_BOX,
        PY_BOX,
        PY_BOX,
    ),
    "container": Step(
        "the containerized server answers on localhost:8000 from Linux",
        check_container,
        CONTAINER_BOX,
        CONTAINER_BOX,
        CONTAINER_BOX,
    ),
    "arch": Step(f"{PY_IMAGE} is built for this engine's CPU and runs on it", check_arch, PY_BOX, ARCH_BOX),
    "deployed": Step(
        "ok-web 2/2 ready, ok-worker and redis Available",
        check_deployed,
        APPLY_BOX,
        DEPLOYED_BOX,
        (APPLY_BOX, DEPLOYED_BOX),
    ),
    "worker-limits": Step(
        "ok-worker runs as non-root, read-only, with CPU and memory limits", check_worker_limits, APPLY_BOX, LIMITS_BOX
    ),
    "service": Step(
        "inside the cluster, ok-web is the Service's ClusterIP and reaches both pods",
        check_service,
        APPLY_BOX,
        SERVICE_BOX,
    ),
    "self-healed": Step(
        "ok-web is back to 2 ready pods after one was deleted",
        check_self_healed,
        DELETE_POD_BOX,
        HEALED_BOX,
        DELETE_POD_BOX,
    ),
    "scaled": Step(
        "ok-worker has 3 ready replicas",
        check_scaled,
        SCALE_BOX,
        SCALE_APPLY_BOX,
        (SCALE_BOX, SCALE_APPLY_BOX),  # run again, its apply would set the file's replicas on the cluster
    ),
    "drained": Step(
        "a worker node was drained of ok-worker's pods and uncordoned (several nodes)",
        check_drained,
        DRAIN_BOX,
        UNCORDON_BOX,
    ),
    "rolled-out": Step(
        "ok-web runs okpy-mini:v2 and its rollout is complete",
        check_rolled_out,
        SET_IMAGE_BOX,
        ROLLED_OUT_BOX,
        SET_IMAGE_BOX,
    ),
    "rolled-back": Step(
        "ok-web is back on okpy-mini:v1 after the rollout to v2", check_rolled_back, UNDO_BOX, UNDO_BOX, UNDO_BOX
    ),
    "repaired": Step(
        "ok-web is back on a real image after the rollout to the missing v3", check_repaired, BROKEN_BOX, REPAIR_BOX
    ),
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
