"""The class board: one row per student, from what their namespace shows (scripts/class status, and the
teacher's page of scripts/class serve): the lecture's Kubernetes steps done, the pods not ready and why,
how long since anything changed there, and the slide most of the class has reached."""

import datetime
import json
from collections import Counter
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.cluster import classroom, kubectl
from workshop.names import APP_IMAGE
from workshop.rehearsal import boxes, steps

# the lecture's Kubernetes steps as a namespace shows them, in deck order: (name, the id of the box that does it)
STAGES = [
    ("deployed", boxes.APPLY),
    ("scaled", boxes.SCALE_EDIT),
    ("v2", boxes.SET_V2),
    ("broken v3", boxes.SET_V3),  # the lecture's rollback is in the extras deck now
    ("repaired", boxes.REPAIR),
]


def _slide(name: str) -> str:
    found = steps.find_box(name)
    return f"{found[0].slide}{found[1]}" if found else "?"


def _since(stamp: str, now: datetime.datetime) -> str:
    seconds = max(0.0, (now - datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds())
    return f"{int(seconds)}s" if seconds < 120 else f"{int(seconds // 60)}m"


def safe_row(namespace: str, admin: Path) -> tuple[list[str], int]:
    """student_row, or a row that says the cluster did not answer in time (for the live board)."""
    try:
        return student_row(namespace, admin)
    except WorkshopError as error:
        return [namespace, "cannot read: " + str(error)[:60], "", "", ""], 0


def student_row(namespace: str, admin: Path) -> tuple[list[str], int]:
    """The row of one student, and how far along the lecture's steps the namespace is (0: nothing yet)."""
    done = kubectl.run(
        "get",
        "deployments,replicasets,pods",
        "-n",
        namespace,
        "-o",
        "json",
        config=admin,
        context=None,
        check=False,
        timeout=30,
    )
    now = datetime.datetime.now(datetime.timezone.utc)  # after the answer: ages are never negative
    if done.returncode != 0:
        return [namespace, "cannot read: " + (done.stderr.strip().splitlines() or ["?"])[-1][:60], "", "", ""], 0
    items = json.loads(done.stdout)["items"]
    deployments = {i["metadata"]["name"]: i for i in items if i["kind"] == "Deployment"}
    images = [
        c["image"] for i in items if i["kind"] == "ReplicaSet" for c in i["spec"]["template"]["spec"]["containers"]
    ]
    web = deployments.get("ok-web", {})
    web_image = (web.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}])[0].get("image", "")
    # how far along the student is: what the namespace shows was asked for, healthy or not (the READY
    # and NOT READY columns say that); scripts/check's step table, not this, judges a step done
    reached = {
        "deployed": all(d in deployments for d in ("ok-web", "ok-worker", "redis")),
        "scaled": deployments.get("ok-worker", {}).get("spec", {}).get("replicas", 0) >= 3,
        "v2": f"{APP_IMAGE}:v2" in images,
        "broken v3": steps.MISSING_TAG in images,
        "repaired": steps.MISSING_TAG in images and web_image != steps.MISSING_TAG,
    }
    stage = max((n + 1 for n, (name, _) in enumerate(STAGES) if reached[name]), default=0)
    waiting: Counter = Counter()  # (app, why) -> pods; one phrase per pod
    for pod in (i for i in items if i["kind"] == "Pod"):
        statuses = pod.get("status", {}).get("containerStatuses") or [{}]
        reasons = [(s.get("state", {}).get("waiting") or {}).get("reason") for s in statuses]
        if pod["metadata"].get("deletionTimestamp"):
            reasons = ["Terminating"]
        if any(reasons) or not all(s.get("ready") for s in statuses):
            app = pod["metadata"].get("labels", {}).get("app") or pod["metadata"]["name"].rsplit("-", 2)[0]
            waiting[
                (
                    app,
                    next((r for r in reasons if r), None)
                    or pod["status"].get("phase", "not ready").replace("Running", "not ready"),
                )
            ] += 1
    stamps = [i["metadata"]["creationTimestamp"] for i in items]
    stamps += [
        c.get("lastTransitionTime")
        for i in items
        for c in i.get("status", {}).get("conditions", [])
        if c.get("lastTransitionTime")
    ]
    ready = " ".join(
        f"{name} {d.get('status', {}).get('readyReplicas', 0)}/{d['spec'].get('replicas', 0)}"
        for name, d in sorted(deployments.items())
    )
    return [
        namespace,
        " ".join(name for name, _ in STAGES if reached[name]) or "-",
        ready or "-",
        "; ".join(f"{app} {why}" + (f" x{n}" if n > 1 else "") for (app, why), n in sorted(waiting.items()))[:60]
        or "-",
        _since(max(stamps), now) if stamps else "-",
    ], stage


HEAD = ["STUDENT", "STEPS DONE", "DEPLOYMENTS READY", "NOT READY", "LAST CHANGE"]


def table(rows: list[list[str]]) -> str:
    head = HEAD
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in [head] + rows
    )


def status_text() -> str:
    if not classroom.roster_file().is_file():
        raise WorkshopError("no class: run scripts/class up --students N")
    roster = json.loads(classroom.roster_file().read_text())
    admin = classroom.admin_config(roster.get("context"))
    rows, stages = [], []
    for student in roster["students"]:
        row, stage = student_row(student["namespace"], admin)
        rows.append(row)
        stages.append(stage)
    return table(rows) + "\n" + summary(stages)


def summary(stages: list[int]) -> str:
    """The line under the board: the furthest step most of the class has done."""
    common, count = most_reached(stages)
    if common == 0:
        return f"most of the class has deployed nothing yet (the deploy is on slide {_slide(boxes.APPLY)})"
    name, box = STAGES[common - 1]
    return f"most of the class has reached {name} (slide {_slide(box)}): {count} of {len(stages)} students"


def most_reached(stages: list[int]) -> tuple[int, int]:
    """The furthest step that more than half of the class has done, and how many have done it."""
    for stage in range(max(stages, default=0), 0, -1):
        count = sum(s >= stage for s in stages)
        if count * 2 > len(stages):
            return stage, count
    return 0, sum(s == 0 for s in stages)
