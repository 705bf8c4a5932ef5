"""prepare's cluster steps: bring the cluster up, and roll the lecture's app out once and remove
it again (so the nodes already hold every image and the first rollout in class is quick)."""

import time

from workshop.cli import Note, WorkshopError, quiet
from workshop.cluster import diagnosis, kubectl, providers
from workshop.machine import app_images
from workshop.names import PART_OF
from workshop.paths import ROOT

MANIFESTS = ["k8s_demo/redis.yaml", "k8s_demo/ok-web.yaml", "k8s_demo/ok-worker.yaml"]


def cluster_up(note: Note = quiet) -> str:
    return providers.up(say=note)


def manifest_args() -> list[str]:
    """`-f FILE` for each of the lecture's manifests."""
    return [arg for manifest in MANIFESTS for arg in ("-f", str(ROOT / manifest))]


def timed_rollout(note: Note, *args: str) -> float:
    """Seconds a waiting kubectl command (wait, rollout status) took; if it fails, say why the pods are stuck."""
    started = time.monotonic()
    done = kubectl.run(*args, timeout=300, check=False)  # above the --timeout the callers pass
    seconds = time.monotonic() - started
    if done.returncode != 0:
        why = diagnosis.explain()
        raise WorkshopError(
            f"`kubectl {' '.join(args[:3])}` did not finish: "
            + (why[0] if why else (done.stderr.strip().splitlines() or ["no reason given"])[-1])
        )
    note(f"kubectl {' '.join(args[:2])}: {seconds:.1f} s")
    return seconds


def app_deployments() -> list[str]:
    """The lecture's Deployments on the workshop cluster, as kubectl names them."""
    return kubectl.run("get", "deployments", "-l", PART_OF, "-o", "name").stdout.split()


def warm_cluster(note: Note = quiet) -> str:
    if not kubectl.cluster_ready():
        raise WorkshopError("no workshop cluster answers: run scripts/cluster up first")
    present = app_deployments()
    if present:
        return f"left alone: the lecture's {len(present)} deployments already run"
    files = manifest_args()
    newer = [image for image in app_images.manifest_images() if image.startswith(app_images.APP + ":")]
    try:
        kubectl.run("apply", *files)
        first = timed_rollout(note, "wait", "--for=condition=Available", "deployment", "-l", PART_OF, "--timeout=200s")
        v2 = newer[0].rpartition(":")[0] + ":v2" if newer else None
        if v2 and app_images.in_registry(v2):
            kubectl.run("set", "image", "deployment/ok-web", f"web={v2}")
            timed_rollout(note, "rollout", "status", "deployment/ok-web", "--timeout=200s")
    finally:
        kubectl.run("delete", *files, "--ignore-not-found", "--wait=true", timeout=180, check=False)
    return f"the node holds the lecture's images (a cold first rollout took {first:.1f} s)"
