"""The student step checks behind scripts/check: did this step of the lecture work on my machine?

For students following along, in the manner of Killercoda's verify scripts: each step looks at the real
thing (a port answering, an image, the cluster's deployments) and prints one line, PASS or FAIL, with a
hint naming the slide whose box does the step, found in the decks by the box's id, so the hints follow them."""

import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from workshop.cluster import kubectl, providers
from workshop.deck import reader as deck
from workshop.machine import app_images
from workshop.machine.engine import ENGINE as engine
from workshop.machine.engines import Run
from workshop.names import APP_IMAGE, PY_IMAGE
from workshop.rehearsal import boxes
from workshop.rehearsal.boxes import MISSING_TAG

GREETING = "Hello from the workshop demo server!"
APP_V2 = f"{APP_IMAGE}:v2"
UNAME = {"amd64": "x86_64", "arm64": "aarch64"}  # what `uname -m` says on each architecture
WAIT = "wait a few seconds and check again"
REPLACED_AFTER = 3.0  # seconds younger than its sibling: a pod made later, to replace one


class Failed(Exception):
    """A step that did not work: what was found, and a hint."""

    def __init__(self, found: str, hint: str):
        super().__init__(found)
        self.found, self.hint = found, hint


@dataclass
class Outcome:
    ok: bool
    found: str
    hint: str = ""

    def line(self, step: str) -> str:
        if self.ok:
            return f"PASS {step}: {self.found}"
        return f"FAIL {step}: {self.found}. Hint: {self.hint}"


def last_error(done, default: str = "") -> str:
    """The last line a failed command wrote on stderr (or default, else its exit status)."""
    return (done.stderr.strip().splitlines() or [default or f"exit status {done.returncode}"])[-1]


def find_box(name: str) -> tuple[deck.Box, str] | None:
    """The box with this id and where it is (' of extras.md', or '' in the lecture): the lecture first."""
    for path in deck.workshop_decks():
        box = deck.read(path).box(name)
        if box is not None:
            return box, deck.where(path)
    return None


def box_hint(name: str, then: str = "") -> str:
    """'run the box on slide N (`the command`)' for the box with this id, in the lecture or the extras."""
    found = find_box(name)
    if found is None:  # a deck edited by hand; a test finds every id the code names in the decks
        return f"run the step's box as the lecture did (no box of the decks is named {name!r} any more){then}"
    box, where = found
    return f"run the box on slide {box.slide}{where} (`{box.typed}`){then}"


# ---------------------------------------------------------------- Part 1: Docker


def http_get(url: str, timeout: float = 3) -> str | None:
    """The body of a GET, or None when nothing answers."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as answer:
            return answer.read(65536).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.read(65536).decode(errors="replace")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def check_server() -> str:
    body = http_get("http://localhost:3000/")
    if body is None:
        raise Failed("nothing answers on localhost:3000", box_hint(boxes.SERVER, " and leave it running"))
    first = (body.splitlines() or [""])[0].strip()
    if first != GREETING:
        raise Failed(
            f"localhost:3000 answers {first[:60]!r}, not the demo server's greeting",
            "stop whatever else listens on port 3000, then " + box_hint(boxes.SERVER),
        )
    return f"localhost:3000 answers {GREETING!r}"


def _engine() -> None:
    if not engine.server_version(timeout=10):
        raise Failed("no Docker engine answers", "start Docker (Docker Desktop, or scripts/prepare on Linux)")


def image_uid(ref: str) -> str:
    """The user id a container of this image really runs as (starts one, without network)."""
    done = engine.run(Run(ref, ["-u"], entrypoint="id", network="none", remove=True), check=False, timeout=120)
    if done.returncode != 0:
        raise Failed(
            f"{ref} exists but a container of it does not start ({last_error(done)[:100]})",
            "rebuild it: " + box_hint(boxes.BUILD_PY),
        )
    return done.stdout.strip()


def check_image(ref: str, box: str, non_root: bool = False) -> str:
    _engine()
    size = engine.image_size(ref)
    if size is None:
        raise Failed(f"no image {ref}", box_hint(box))
    found = f"{ref} is built ({size / 1e6:.0f} MB)"
    if non_root:
        uid = image_uid(ref)
        if uid in ("", "0"):
            raise Failed(
                f"{found} but runs as root (uid 0)",
                "its Dockerfile needs a `USER 10001` line before CMD; then " + box_hint(box),
            )
        found += f" and runs as uid {uid}, not root"
    return found


def check_container() -> str:
    body = http_get("http://localhost:8000/")
    if body is None:
        raise Failed("nothing answers on localhost:8000", box_hint(boxes.CONTAINER, " and leave it running"))
    os_line = next((line for line in body.splitlines() if re.match(r"os:\s+Linux", line)), None)
    if os_line is None:
        raise Failed(
            "localhost:8000 answers, but not with `os:       Linux`",
            "stop what listens on port 8000, then " + box_hint(boxes.CONTAINER),
        )
    return f"localhost:8000 answers from a Linux container ({' '.join(os_line.split())})"


def check_arch() -> str:
    _engine()
    image = engine.image_platform(PY_IMAGE) or ""
    if not image:
        raise Failed(f"no image {PY_IMAGE}", box_hint(boxes.BUILD_PY))
    server = engine.server_platform() or ""
    if image != server:
        raise Failed(
            f"{PY_IMAGE} is {image} but the engine runs {server}: its programs stop with exec format "
            "error (or crawl under emulation)",
            "rebuild it on this machine: " + box_hint(boxes.BUILD_PY),
        )
    done = engine.run(Run(PY_IMAGE, ["uname", "-m"], network="none", remove=True), check=False, timeout=120)
    machine, wanted = done.stdout.strip(), UNAME.get(image.rpartition("/")[2])
    if done.returncode != 0 or (wanted and machine != wanted):
        raise Failed(
            f"a container of {PY_IMAGE} says `{machine or done.stderr.strip()[:80]}`, not {wanted}",
            box_hint(boxes.IMAGE_ARCH),
        )
    return f"{PY_IMAGE} is {image}, like the engine, and its container runs on {machine}"


# ---------------------------------------------------------------- Part 2: Kubernetes


def kubectl_json(*args: str) -> dict:
    if providers.chosen() is None or not kubectl.exists():
        raise Failed("no workshop cluster is configured", "start one with `scripts/cluster up`, then check again")
    done = kubectl.run(*args, "-o", "json", "--request-timeout=15s", check=False, timeout=30)
    if done.returncode != 0:
        why = last_error(done, "no answer")
        if "NotFound" in why or "not found" in why:
            raise Failed(f"the cluster has no {' '.join(args[1:3])}", box_hint(boxes.APPLY))
        raise Failed(
            f"kubectl got no answer from the cluster ({why[:100]})",
            "`scripts/cluster status` tells whether the cluster is up",
        )
    return json.loads(done.stdout)


def deployment(name: str) -> dict:
    return kubectl_json("get", "deployment", name)


def live_pods(app: str) -> list[dict]:
    """The pods of app=APP that are not on their way out."""
    return [
        pod
        for pod in kubectl_json("get", "pods", "-l", f"app={app}")["items"]
        if not pod["metadata"].get("deletionTimestamp")
    ]


def has_condition(thing: dict, kind: str) -> bool:
    """Does a pod or deployment report this condition (Ready, Available) as True?"""
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in thing.get("status", {}).get("conditions", [])
    )


def exec_in_worker(*command: str) -> tuple[str, str]:
    """(pod name, stdout) of a command run in a ready ok-worker pod."""
    pods = [pod for pod in live_pods("ok-worker") if has_condition(pod, "Ready")]
    if not pods:
        raise Failed("no ok-worker pod is ready", f"{WAIT}, or " + box_hint(boxes.APPLY))
    name = pods[0]["metadata"]["name"]
    done = kubectl.run("exec", name, "--", *command, check=False, timeout=60)
    if done.returncode != 0:
        raise Failed(
            f"running {command[0]} in {name} failed ({last_error(done)[:100]})",
            "`kubectl get pods -l app=ok-worker` shows whether it runs",
        )
    return name, done.stdout


def ready(dep: dict) -> tuple[int, int]:
    """(ready replicas, wanted replicas), as kubectl's READY column shows them."""
    return dep.get("status", {}).get("readyReplicas", 0), dep.get("spec", {}).get("replicas", 1)


def rollout_complete(dep: dict) -> bool:
    """What `kubectl rollout status` waits for: every replica updated, ready and available, no old ones left."""
    spec, status = dep.get("spec", {}), dep.get("status", {})
    wanted = spec.get("replicas", 1)
    return (
        status.get("observedGeneration", 0) >= dep["metadata"].get("generation", 0)
        and status.get("updatedReplicas", 0) == wanted
        and status.get("replicas", 0) == wanted
        and status.get("availableReplicas", 0) == wanted
    )


def web_image(dep: dict) -> str:
    containers = dep["spec"]["template"]["spec"]["containers"]
    return next((c["image"] for c in containers if c["name"] == "web"), containers[0]["image"])


def check_deployed() -> str:
    web = deployment("ok-web")
    got, wanted = ready(web)
    if (got, wanted) != (2, 2):
        raise Failed(
            f"ok-web is {got}/{wanted} ready, not 2/2",
            f"{WAIT} (`kubectl get pods -l app=ok-web` shows why a pod is not ready), or " + box_hint(boxes.APPLY),
        )
    for name in ("ok-worker", "redis"):
        if not has_condition(deployment(name), "Available"):
            raise Failed(f"{name} is not Available yet", f"{WAIT} (`kubectl get pods -l app={name}`)")
    return "ok-web 2/2 ready, ok-worker and redis Available"


def check_worker_limits() -> str:
    """The worker's resources and securityContext, as a running pod really has them."""
    name, found = exec_in_worker("sh", "-c", "id -u; touch /app/.workshop-check 2>/dev/null && echo writable; exit 0")
    pod = next(pod for pod in live_pods("ok-worker") if pod["metadata"]["name"] == name)
    limits = pod["spec"]["containers"][0].get("resources", {}).get("limits", {})
    uid, _, writable = found.strip().partition("\n")
    lacks = [
        what
        for what, ok in (
            ("a CPU limit", "cpu" in limits),
            ("a memory limit", "memory" in limits),
            ("a non-root user", uid not in ("", "0")),
            ("a read-only root filesystem", "writable" not in writable),
        )
        if not ok
    ]
    if lacks:
        raise Failed(
            f"{name} runs without {', '.join(lacks)}",
            "k8s_demo/ok-worker.yaml lost its resources or "
            "securityContext: `git checkout k8s_demo/ok-worker.yaml`, then " + box_hint(boxes.APPLY),
        )
    return (
        f"{name} runs as uid {uid} on a read-only root filesystem, limited to {limits['cpu']} CPU "
        f"and {limits['memory']} of memory"
    )


# asked from inside a worker pod: where the name ok-web leads, and which pods answer there
SERVICE_CLIENT = (
    "import json, socket, urllib.request as r; print(socket.gethostbyname('ok-web')); "
    "[print(json.load(r.urlopen('http://ok-web/status', timeout=5))['pod']) for _ in range(20)]"
)


def check_service() -> str:
    cluster_ip = kubectl_json("get", "service", "ok-web")["spec"].get("clusterIP")
    _, found = exec_in_worker("python", "-c", SERVICE_CLIENT)
    address, *answers = found.split()
    if address != cluster_ip:
        raise Failed(
            f"inside the cluster ok-web resolves to {address}, not the Service's ClusterIP {cluster_ip}",
            "cluster DNS is not answering right: `scripts/cluster status`, then " + box_hint(boxes.SPREAD),
        )
    if len(set(answers)) < 2:
        raise Failed(
            f"20 requests to http://ok-web all reached {answers[0] if answers else 'no pod'}",
            f"the Service spreads over ready pods only: {WAIT} (`kubectl get pods -l app=ok-web` "
            "should show two ready), then " + box_hint(boxes.SPREAD),
        )
    return (
        f"inside the cluster ok-web resolves to {address}, the Service's ClusterIP, and 20 requests "
        f"reached {len(set(answers))} pods"
    )


def created(pod: dict) -> float:
    stamp = pod["metadata"]["creationTimestamp"]  # e.g. 2026-12-01T09:30:00Z
    return time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


def check_self_healed() -> str:
    ready_pods = [pod for pod in live_pods("ok-web") if has_condition(pod, "Ready")]
    if len(ready_pods) < 2:
        raise Failed(
            f"ok-web has {len(ready_pods)} ready pod(s), not 2",
            f"{WAIT}: the ReplicaSet is replacing the deleted pod; if nothing was deleted, "
            + box_hint(boxes.DELETE_POD),
        )
    # a pod the ReplicaSet made to replace one is younger than its siblings, made together
    ages = sorted(created(pod) for pod in ready_pods)
    if ages[-1] - ages[0] < REPLACED_AFTER:
        raise Failed("ok-web's pods are the ones it started with: none was replaced yet", box_hint(boxes.DELETE_POD))
    names = ", ".join(sorted(pod["metadata"]["name"] for pod in ready_pods))
    return f"ok-web has {len(ready_pods)} ready pods, one made to replace a deleted one ({names})"


def check_drained() -> str:
    """After a drain and uncordon: every grading worker on one worker node, every node schedulable."""
    nodes = kubectl_json("get", "nodes")["items"]
    workers = [
        n
        for n in nodes
        if not any(
            t.get("key") == "node-role.kubernetes.io/control-plane" for t in n.get("spec", {}).get("taints") or []
        )
    ]
    if len(workers) < 2:
        raise Failed(
            f"this cluster has {len(workers)} worker node(s); the lesson needs 2",
            "use kind: scripts/cluster down, then scripts/cluster up --provider kind",
        )
    cordoned = [n["metadata"]["name"] for n in nodes if n.get("spec", {}).get("unschedulable")]
    if cordoned:
        raise Failed(f"{', '.join(cordoned)} is still cordoned", box_hint(boxes.UNCORDON))
    places = {pod["spec"].get("nodeName") for pod in live_pods("ok-worker") if has_condition(pod, "Ready")}
    if len(places) != 1:
        raise Failed(f"ok-worker's pods run on {len(places)} nodes: no node was drained of them", box_hint(boxes.DRAIN))
    return f"every ok-worker pod runs on {places.pop()}, and every node takes pods again"


def check_scaled() -> str:
    got, wanted = ready(deployment("ok-worker"))
    if wanted != 3:
        raise Failed(f"ok-worker asks for {wanted} replica(s), not 3", box_hint(boxes.SCALE_EDIT))
    if got != 3:
        raise Failed(f"ok-worker is scaled to 3 but {got} are ready", f"{WAIT} (`kubectl get pods -l app=ok-worker`)")
    return "ok-worker has 3 ready replicas"


def check_rolled_out() -> str:
    web = deployment("ok-web")
    image = web_image(web)
    if image != APP_V2:
        raise Failed(f"ok-web runs {image}, not {APP_V2}", box_hint(boxes.SET_V2))
    if not rollout_complete(web):
        raise Failed("ok-web is still rolling out to v2", f"{WAIT} (`kubectl rollout status deployment/ok-web`)")
    return f"ok-web runs {image} on every pod; the rollout is complete"


def first_web_image() -> str:
    """The image k8s_demo/ok-web.yaml names: the one a rollback returns to."""
    text = (app_images.K8S_DEMO / "ok-web.yaml").read_text()
    return app_images.IMAGE_LINE.findall(text)[0]


def check_rolled_back() -> str:
    web = deployment("ok-web")
    image, original = web_image(web), first_web_image()
    revision = int(web["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "1"))
    if image == APP_V2:
        raise Failed(f"ok-web still runs {image}", box_hint(boxes.UNDO))
    if image != original:
        raise Failed(f"ok-web runs {image}, not {original}", box_hint(boxes.UNDO))
    if revision < 3:
        raise Failed(
            f"ok-web runs {image} but was never rolled out to v2 and back (revision {revision})",
            "first " + box_hint(boxes.SET_V2) + ", then the undo box after it",
        )
    if not rollout_complete(web):
        raise Failed("ok-web is still rolling back", f"{WAIT} (`kubectl rollout status deployment/ok-web`)")
    return f"ok-web is back on {image} (revision {revision}); the rollout is complete"


def check_repaired() -> str:
    web = deployment("ok-web")
    image = web_image(web)
    if image == MISSING_TAG:
        raise Failed(f"ok-web still asks for {MISSING_TAG}, which was never pushed", box_hint(boxes.REPAIR))
    templates = [rs["spec"]["template"] for rs in kubectl_json("get", "replicasets", "-l", "app=ok-web")["items"]]
    if not any(web_image({"spec": {"template": template}}) == MISSING_TAG for template in templates):
        raise Failed(
            f"ok-web was never rolled out to the missing {MISSING_TAG}",
            "first " + box_hint(boxes.SET_V3) + ", then the repair box after it",
        )
    stuck = [
        pod["metadata"]["name"]
        for pod in live_pods("ok-web")
        if any(
            (status.get("state") or {}).get("waiting", {}).get("reason") in ("ErrImagePull", "ImagePullBackOff")
            for status in pod.get("status", {}).get("containerStatuses", [])
        )
    ]
    if stuck or not rollout_complete(web):
        raise Failed(
            f"ok-web is still replacing {stuck[0] if stuck else 'its pods'}",
            f"{WAIT} (`kubectl rollout status deployment/ok-web`)",
        )
    return f"ok-web is back on {image} after the rollout to {MISSING_TAG} stalled; no pod is stuck pulling"
