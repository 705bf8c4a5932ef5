"""prepare's last steps: run the deck's own docker build commands once (so in class every build
is a cache hit), bring the cluster up, and roll the lecture's app out once and remove it again
(so the node already holds every image and the first rollout in class is quick)."""
import subprocess
import time
from typing import Callable, List

from . import app_images, cluster, cluster_diagnosis, hostcmd, kubeconfig
from .cli import WorkshopError
from .deck import read
from .paths import ROOT

Note = Callable[[str], None]
MANIFESTS = ["k8s_demo/redis.yaml", "k8s_demo/ok-web.yaml", "k8s_demo/ok-worker.yaml"]
PART_OF = cluster_diagnosis.PART_OF


def deck_builds() -> List[str]:
    """The deck's own `docker build` command lines, in slide order, each once."""
    found: List[str] = []
    for box in read().boxes():
        if box.typed and box.typed.startswith("docker build") and box.typed not in found:
            found.append(box.typed)
    return found


def build_deck_images(note: Note = lambda _: None) -> str:
    log = hostcmd.log_path("deck-images.log")
    for command in deck_builds():
        note(command)
        hostcmd.logged(["bash", "-c", command], log, timeout=1800, what=command.split(" && ")[0], cwd=ROOT,
                       stdin=subprocess.DEVNULL)
    return f"ran the deck's {len(deck_builds())} build commands"


def cluster_up(note: Note = lambda _: None) -> str:
    return cluster.up(say=note)


def manifest_args() -> List[str]:
    """`-f FILE` for each of the lecture's manifests."""
    return [arg for manifest in MANIFESTS for arg in ("-f", str(ROOT / manifest))]


def timed_rollout(note: Note, *args: str) -> float:
    """Seconds a waiting kubectl command (wait, rollout status) took; if it fails, say why the pods are stuck."""
    started = time.monotonic()
    done = kubeconfig.kubectl(*args, timeout=300, check=False)     # above the --timeout the callers pass
    seconds = time.monotonic() - started
    if done.returncode != 0:
        why = cluster_diagnosis.explain()
        raise WorkshopError(f"`kubectl {' '.join(args[:3])}` did not finish: "
                            + (why[0] if why else (done.stderr.strip().splitlines() or ["no reason given"])[-1]))
    note(f"kubectl {' '.join(args[:2])}: {seconds:.1f} s")
    return seconds


def warm_cluster(note: Note = lambda _: None) -> str:
    if not kubeconfig.cluster_ready():
        raise WorkshopError("no workshop cluster answers: run scripts/cluster up first")
    present = kubeconfig.kubectl("get", "deployments", "-l", PART_OF, "-o", "name").stdout.split()
    if present:
        return f"left alone: the lecture's {len(present)} deployments already run"
    files = manifest_args()
    newer = [image for image in app_images.manifest_images() if image.startswith(app_images.APP + ":")]
    try:
        kubeconfig.kubectl("apply", *files)
        first = timed_rollout(note, "wait", "--for=condition=Available", "deployment", "-l", PART_OF, "--timeout=200s")
        v2 = newer[0].rpartition(":")[0] + ":v2" if newer else None
        if v2 and app_images.in_registry(v2):
            kubeconfig.kubectl("set", "image", "deployment/ok-web", f"web={v2}")
            timed_rollout(note, "rollout", "status", "deployment/ok-web", "--timeout=200s")
    finally:
        kubeconfig.kubectl("delete", *files, "--ignore-not-found", "--wait=true", timeout=180, check=False)
    return f"the node holds the lecture's images (a cold first rollout took {first:.1f} s)"
