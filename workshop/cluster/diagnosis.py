"""Why the workshop's pods are not coming up: pods stuck pulling or crash-looping, with their
latest events, and nodes lost under them, so a rehearsal reports the cause instead of a bare
timeout."""

import json
import re

from workshop.cli import WorkshopError
from workshop.cluster import kubectl
from workshop.machine.engine import ENGINE as engine
from workshop.names import PART_OF, REGISTRY

STUCK = {
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}
EVENTS_PER_POD = 3


LOST = "node "  # how a line about a lost node begins
GRACE = "pods on a lost node wait 5 min (their not-ready toleration) before Kubernetes replaces them"


def _items(*args: str) -> list[dict]:
    try:
        done = kubectl.run("get", *args, "-o", "json", timeout=15, check=False)
    except WorkshopError:
        return []
    return json.loads(done.stdout or "{}").get("items", []) if done.returncode == 0 else []


def lost_nodes(pods: list[dict]) -> dict[str, str]:
    """{node: why} for the nodes under these pods whose Ready condition is not True."""
    wanted = {pod.get("spec", {}).get("nodeName") for pod in pods} - {None, ""}
    lost = {}
    for node in _items("nodes") if wanted else []:
        name = node["metadata"]["name"]
        ready: dict = next((c for c in node.get("status", {}).get("conditions", []) if c.get("type") == "Ready"), {})
        if name in wanted and ready.get("status") != "True":
            lost[name] = ready.get("message") or ready.get("reason") or "not Ready"
    return lost


def bring_back(node: str) -> str:
    """The fix for a lost node: for a kind node (a container), the docker command that restarts it."""
    try:
        found = engine.container(node)
    except WorkshopError:
        found = None
    state = found.state if found else ""
    if state == "paused":
        return f"bring it back: docker unpause {node}"
    if state in ("exited", "created", "dead"):
        return f"bring it back: docker start {node}"
    return "bring it back, or rebuild the cluster: scripts/cluster down && scripts/cluster up"


def lost_lines(pods: list[dict]) -> list[str]:
    lines = []
    for node, why in sorted(lost_nodes(pods).items()):
        count = sum(pod.get("spec", {}).get("nodeName") == node for pod in pods)
        lines.append(
            f"{LOST}{node} is lost ({why.rstrip('.')}), with {count} of the workshop's pods on it; "
            f"{GRACE}; {bring_back(node)}"
        )
    return lines


def stuck_pods(pods: list[dict]) -> list[dict]:
    """[{pod, container, reason, message}] for those of these pods whose containers are stuck."""
    stuck = []
    for pod in pods:
        for container in pod.get("status", {}).get("containerStatuses", []) or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in STUCK:
                stuck.append(
                    {
                        "pod": pod["metadata"]["name"],
                        "container": container["name"],
                        "reason": waiting["reason"],
                        "message": waiting.get("message", ""),
                    }
                )
    return stuck


def _labelled(pod: dict, selectors: tuple[str, ...]) -> bool:
    labels = pod.get("metadata", {}).get("labels") or {}
    return any(labels.get(key) == value for key, _, value in (selector.partition("=") for selector in selectors))


def events(pod: str) -> list[str]:
    done = kubectl.run(
        "get", "events", "--field-selector", f"involvedObject.name={pod}", "-o", "json", timeout=15, check=False
    )
    if done.returncode != 0:
        return []
    items = sorted(
        json.loads(done.stdout or "{}").get("items", []),
        key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "",
    )
    return [
        f"{e.get('type', '')} {e.get('reason', '')}: {e.get('message', '').strip()}" for e in items[-EVENTS_PER_POD:]
    ]


def explain(expected: tuple[str, ...] = ()) -> list[str]:
    """Lines describing every lost node under the workshop's pods, then every stuck pod and its
    latest events; empty when nothing is wrong. Pods carrying one of the `expected` labels
    (key=value) are broken on purpose: their being stuck is not named."""
    pods = _items("pods", "-l", PART_OF)
    lines = lost_lines(pods)
    for item in stuck_pods([pod for pod in pods if not _labelled(pod, expected)]):
        lines.append(f"pod {item['pod']} ({item['container']}): {item['reason']} {item['message'][:160]}".rstrip())
        latest = events(item["pod"])
        lines.extend(f"  event: {line[:200]}" for line in latest)
        lines.extend(missing_from_registry(item["message"], latest))
    return lines


def missing_from_registry(message: str, latest: list[str]) -> list[str]:
    """The fix when the image is one of the workshop registry's and the registry does not hold it
    (a registry started again is empty until prepare pushes the lecture's images)."""
    ref = re.search(r'"(' + re.escape(REGISTRY) + r'/[^"]+)"', message + " ".join(latest))
    if not ref or not any("not found" in text for text in [message, *latest]):
        return []
    return [
        f"  fix: the registry {REGISTRY} does not hold {ref.group(1)[len(REGISTRY) + 1 :]}: run scripts/prepare "
        f"app-images (it pushes the lecture's images), or build and push that image"
    ]


def problem(lines: list[str]) -> str:
    """The one-line verdict for what explain() found."""
    if any(line.startswith(LOST) for line in lines):
        return "a node was lost under the workshop's pods (see below)"
    return "pods are stuck (see below)"
