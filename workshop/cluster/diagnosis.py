"""Why the workshop's pods are not coming up: pods stuck pulling or crash-looping, with their
latest events, so a rehearsal reports the cause instead of a bare timeout."""
import json
from typing import List

from workshop.cluster import kubectl
from workshop.cli import WorkshopError
from workshop.names import PART_OF

STUCK = {"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CrashLoopBackOff",
         "CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
EVENTS_PER_POD = 3


def stuck_pods() -> List[dict]:
    """[{pod, container, reason, message}] for the workshop's pods whose containers are stuck."""
    try:
        done = kubectl.run("get", "pods", "-l", PART_OF, "-o", "json", timeout=15, check=False)
    except WorkshopError:
        return []
    if done.returncode != 0:
        return []
    stuck = []
    for pod in json.loads(done.stdout or "{}").get("items", []):
        for container in pod.get("status", {}).get("containerStatuses", []) or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in STUCK:
                stuck.append({"pod": pod["metadata"]["name"], "container": container["name"],
                              "reason": waiting["reason"], "message": waiting.get("message", "")})
    return stuck


def events(pod: str) -> List[str]:
    done = kubectl.run("get", "events", "--field-selector", f"involvedObject.name={pod}", "-o", "json",
                              timeout=15, check=False)
    if done.returncode != 0:
        return []
    items = sorted(json.loads(done.stdout or "{}").get("items", []),
                   key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
    return [f"{e.get('type', '')} {e.get('reason', '')}: {e.get('message', '').strip()}" for e in items[-EVENTS_PER_POD:]]


def explain() -> List[str]:
    """Lines describing every stuck pod and its latest events; empty when nothing is stuck."""
    lines = []
    for item in stuck_pods():
        lines.append(f"pod {item['pod']} ({item['container']}): {item['reason']} {item['message'][:160]}".rstrip())
        lines.extend(f"  event: {line[:200]}" for line in events(item["pod"]))
    return lines
