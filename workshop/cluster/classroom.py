"""A whole class on one cluster: a namespace per student, each fenced in by Kubernetes itself.

For every student: a namespace labelled for Pod Security `restricted`, a ServiceAccount, a RoleBinding
to the built-in namespaced `edit` role, a ResourceQuota and a LimitRange sized from the lecture's own
manifests, a NetworkPolicy that admits only pods of the same namespace, and a kubeconfig holding a
time-limited token for that ServiceAccount (mode 0600, under .workshop/class/, listed in roster.json).
Each namespace is recorded before it is made; `down` deletes exactly the recorded ones, never a
namespace of the same name that the class did not create."""

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from workshop import ledger
from workshop.cli import WorkshopError
from workshop.cluster import kubectl
from workshop.machine import app_images, engine
from workshop.paths import KUBECONFIG, STATE, write_private

CLASS = STATE / "class"
ROSTER = CLASS / "roster.json"
PREFIX = "cs198-student-"
ACCOUNT = "student"
TOKEN_HOURS = 8
MAX_STUDENTS = 200
LEDGER_KIND = "class-namespace"
# room beyond the lecture's peak: a rollout's surge pod and a debugging pod or two
HEADROOM = 1.5


def namespace_of(number: int) -> str:
    return f"{PREFIX}{number:02d}"


def _quantity(value: str) -> float:
    """CPU in cores or memory in MiB, from a Kubernetes quantity."""
    units = {"m": 1 / 1000, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for unit, factor in units.items():
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


def footprint(folder: Path = app_images.K8S_DEMO) -> dict[str, float]:
    """What the lecture's app asks for at its peak (ok-worker scaled to 3, one surge pod per rollout):
    requests and limits of CPU (cores) and memory (MiB), and the number of pods."""
    totals = {"requests.cpu": 0.0, "requests.memory": 0.0, "limits.cpu": 0.0, "limits.memory": 0.0, "pods": 0.0}
    peak_replicas = {"ok-worker": 3}
    for manifest in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if not doc or doc.get("kind") != "Deployment":
                continue
            name = doc["metadata"]["name"]
            replicas = max(doc["spec"].get("replicas", 1), peak_replicas.get(name, 0)) + 1  # + a surge pod
            totals["pods"] += replicas
            for container in doc["spec"]["template"]["spec"]["containers"]:
                resources = container.get("resources", {})
                for kind in ("requests", "limits"):
                    for what in ("cpu", "memory"):
                        value = resources.get(kind, {}).get(what)
                        if value:
                            totals[f"{kind}.{what}"] += _quantity(str(value)) * replicas
    return totals


def quota(folder: Path = app_images.K8S_DEMO) -> dict[str, str]:
    need = footprint(folder)
    return {
        "requests.cpu": f"{int(need['requests.cpu'] * HEADROOM * 1000)}m",
        "requests.memory": f"{int(need['requests.memory'] * HEADROOM)}Mi",
        "limits.cpu": f"{int(need['limits.cpu'] * HEADROOM * 1000)}m",
        "limits.memory": f"{int(need['limits.memory'] * HEADROOM)}Mi",
        "pods": str(int(need["pods"] * HEADROOM)),
        "services": "4",
        "persistentvolumeclaims": "2",
    }


def objects(namespace: str, hard: dict[str, str]) -> list[dict]:
    """Everything a student's namespace holds before the student does anything."""
    meta = {"namespace": namespace, "labels": {"app.kubernetes.io/part-of": "cs198-workshop-class"}}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {
                    "app.kubernetes.io/part-of": "cs198-workshop-class",
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT, **meta}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "student-edit", **meta},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}],
        },
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "student", **meta}, "spec": {"hard": hard}},
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "student", **meta},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": "200m", "memory": "128Mi"},
                        "defaultRequest": {"cpu": "20m", "memory": "32Mi"},
                        "max": {"cpu": "1", "memory": "512Mi"},
                    }
                ]
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "same-namespace-only", **meta},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]},
        },
    ]


NODE_VIEWER = "cs198-class-node-viewer"
CLUSTER_LEDGER_KIND = "class-cluster-object"


def node_viewer(namespace: str) -> list[dict]:
    """What lets a student read the nodes (the deck's `kubectl get nodes`), and nothing more cluster-wide:
    one read-only ClusterRole for the class, bound to each student's ServiceAccount by name."""
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {
                "name": f"{namespace}-node-viewer",
                "labels": {"app.kubernetes.io/part-of": "cs198-workshop-class"},
            },
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NODE_VIEWER},
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}],
        }
    ]


NODE_VIEWER_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": NODE_VIEWER, "labels": {"app.kubernetes.io/part-of": "cs198-workshop-class"}},
    "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}],
}


def _make_cluster_object(kind: str, name: str, body: dict, admin: Path, context: str | None) -> None:
    """A cluster-wide object of the class: refused if one of that name is there and not the class's;
    recorded before it is made."""
    key = f"{kind.lower()}/{name}"
    there = _admin("get", kind.lower(), name, "--ignore-not-found", "-o", "name", config=admin).stdout.strip()
    if there and ledger.find(CLUSTER_LEDGER_KIND, key) is None:
        raise WorkshopError(
            f"the cluster already has a {kind} {name} that the class did not create; delete it "
            f"yourself if it is unused, or use another cluster"
        )
    ledger.record(CLUSTER_LEDGER_KIND, key, context=context)
    _admin("apply", "-f", "-", config=admin, stdin=json.dumps(body))


def _admin(*args: str, config: Path, stdin: str | None = None, check: bool = True, timeout: float = 60):
    return kubectl.run(*args, config=config, context=None, stdin=stdin, check=check, timeout=timeout)


def admin_config(context: str | None) -> Path:
    """The kubeconfig the class is made with: the workshop's own, or a copy of the user's named context."""
    if context is None:
        if not kubectl.exists():
            raise WorkshopError(
                "no workshop cluster: run scripts/cluster up, or name a cluster you have with "
                "scripts/class up --context NAME"
            )
        return KUBECONFIG
    from workshop.cluster import existing

    copy = CLASS / "admin.kubeconfig"
    write_private(copy, yaml.safe_dump(existing.extract(context, existing.user_kubeconfigs()), sort_keys=False))
    return copy


def student_kubeconfig(admin: Path, namespace: str) -> str:
    """A kubeconfig for one student: the cluster of `admin`, a token of the namespace's ServiceAccount."""
    data = yaml.safe_load(admin.read_text())
    current = next(c for c in data["contexts"] if c["name"] == data.get("current-context", c["name"]))
    cluster = next(c for c in data["clusters"] if c["name"] == current["context"]["cluster"])
    token = _admin(
        "create", "token", ACCOUNT, "-n", namespace, f"--duration={TOKEN_HOURS}h", config=admin
    ).stdout.strip()
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "workshop",
            "clusters": [{"name": "workshop", "cluster": cluster["cluster"]}],
            "users": [{"name": namespace, "user": {"token": token}}],
            "contexts": [
                {"name": "workshop", "context": {"cluster": "workshop", "user": namespace, "namespace": namespace}}
            ],
        },
        sort_keys=False,
    )


def lecture_images() -> list[str]:
    """What the students' boxes run: the manifests' images and the v2 of the rollout slide."""
    return app_images.manifest_images() + [f"{app_images.APP}:v2"]


def push_to(target: str, say: Callable[[str], None]) -> None:
    """--registry: the lecture's images pushed to a registry the cluster's nodes can reach, under the same
    names after the host (the local tags made for the push are recorded, so reset removes them)."""
    for image in lecture_images():
        if not engine.image_id(image):
            raise WorkshopError(f"{image} is not on this machine: run scripts/prepare app-images deck-images first")
        there = target + image[len(app_images.ADDRESS) :]
        engine.docker("tag", image, there)
        ledger.record("image", there, id=engine.image_id(there), role="app")
        engine.docker("push", there, timeout=600)
        say(f"pushed {there}")


def check_pull(admin: Path, namespace: str, registry: str | None, image: str | None = None) -> None:
    """One pod that pulls the lecture's image in a student's namespace: the boxes name it as
    localhost:5001/..., which each node must resolve to a registry it reaches."""
    image = image or app_images.manifest_images()[0]
    name = f"class-pull-check-{os.urandom(3).hex()}"  # never an earlier check's pod, still going
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "check",
                    "image": image,
                    "command": ["true"],
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "32Mi"},
                        "limits": {"cpu": "100m", "memory": "64Mi"},
                    },
                }
            ],
        },
    }
    _admin("apply", "-f", "-", config=admin, stdin=json.dumps(pod))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            got = json.loads(_admin("get", "pod", name, "-n", namespace, "-o", "json", config=admin).stdout)
            phase = got.get("status", {}).get("phase")
            waiting = [
                (c.get("state", {}).get("waiting") or {}).get("reason")
                for c in got.get("status", {}).get("containerStatuses", [])
            ]
            if phase in ("Succeeded", "Running") or any(w == "CreateContainerError" for w in waiting):
                return
            if any(w in ("ErrImagePull", "ImagePullBackOff") for w in waiting):
                where = registry or "a registry the nodes reach (scripts/class up --registry HOST:PORT pushes there)"
                raise WorkshopError(
                    f"the cluster's nodes cannot pull {image}: map localhost:5001 to {where} on each "
                    f"node (containerd: /etc/containerd/certs.d/localhost:5001/hosts.toml), then "
                    f"run scripts/class up again"
                )
            time.sleep(1)
        raise WorkshopError(
            f"a pod pulling {image} did not start within 120 s in {namespace}: see "
            f"`kubectl describe pod {name} -n {namespace}`"
        )
    finally:
        _admin("delete", "pod", name, "-n", namespace, "--ignore-not-found", "--wait=false", config=admin, check=False)


def up(
    students: int, context: str | None = None, say: Callable[[str], None] = print, registry: str | None = None
) -> list[dict]:
    if not 1 <= students <= MAX_STUDENTS:
        raise WorkshopError(f"--students must be between 1 and {MAX_STUDENTS}")
    CLASS.mkdir(parents=True, exist_ok=True)
    os.chmod(CLASS, 0o700)
    admin = admin_config(context)
    if registry:
        push_to(registry, say)
    roster, hard = [], quota()
    _make_cluster_object("ClusterRole", NODE_VIEWER, NODE_VIEWER_ROLE, admin, context)
    for number in range(1, students + 1):
        namespace = namespace_of(number)
        there = _admin(
            "get", "namespace", namespace, "--ignore-not-found", "-o", "jsonpath={.status.phase}", config=admin
        ).stdout.strip()
        if there == "Terminating":  # a class just taken down: its namespaces are still going
            say(f"{namespace}: waiting for the one being deleted to go")
            _admin("wait", "--for=delete", f"namespace/{namespace}", "--timeout=180s", config=admin, timeout=200)
            there = ""
        if there and ledger.find(LEDGER_KIND, namespace) is None:
            raise WorkshopError(
                f"the cluster already has a namespace {namespace} that the class did not create; it "
                f"is not the class's to use: delete it yourself if it is unused, or use another cluster"
            )
        ledger.record(LEDGER_KIND, namespace, context=context)  # before it exists
        _admin(
            "apply",
            "-f",
            "-",
            config=admin,
            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects(namespace, hard)}),
        )
        for binding in node_viewer(namespace):
            _make_cluster_object(binding["kind"], binding["metadata"]["name"], binding, admin, context)
        path = CLASS / f"{namespace}.kubeconfig"
        write_private(path, student_kubeconfig(admin, namespace))
        roster.append(
            {
                "student": number,
                "namespace": namespace,
                "kubeconfig": str(path),
                "expires": time.strftime("%Y-%m-%d %H:%M", time.localtime(time.time() + TOKEN_HOURS * 3600)),
            }
        )
        say(
            f"{namespace}: ready, kubeconfig {path.relative_to(STATE.parent) if STATE.parent in path.parents else path}"
        )
    write_private(ROSTER, json.dumps({"context": context, "registry": registry, "students": roster}, indent=2) + "\n")
    check_pull(admin, namespace_of(1), registry)
    return roster


def down(say: Callable[[str], None] = print) -> str:
    recorded = ledger.of_kind(LEDGER_KIND)
    cluster_objects = ledger.of_kind(CLUSTER_LEDGER_KIND)
    if not recorded and not cluster_objects:
        return "no class to remove"
    roster = json.loads(ROSTER.read_text()) if ROSTER.is_file() else {}
    context = roster.get("context") or next(
        (e.get("context") for e in recorded + cluster_objects if e.get("context")), None
    )
    admin = admin_config(context) if (context or kubectl.exists()) else None
    removed = 0
    for entry in recorded:
        if admin is not None:
            _admin(
                "delete",
                "namespace",
                entry["name"],
                "--ignore-not-found",
                "--wait=false",
                config=admin,
                check=False,
                timeout=120,
            )
        removed += 1
        ledger.forget(LEDGER_KIND, entry["name"])
        (CLASS / f"{entry['name']}.kubeconfig").unlink(missing_ok=True)
    for entry in cluster_objects:
        if admin is not None:
            _admin("delete", entry["name"], "--ignore-not-found", config=admin, check=False, timeout=60)
        ledger.forget(CLUSTER_LEDGER_KIND, entry["name"])
    ROSTER.unlink(missing_ok=True)
    (CLASS / "admin.kubeconfig").unlink(missing_ok=True)
    return f"removed the class: {removed} namespace(s) and their kubeconfigs"
