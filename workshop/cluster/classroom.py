"""A whole class on one cluster: a namespace per student, each fenced in by Kubernetes itself.

For every student: a namespace labelled for Pod Security `restricted`, a ServiceAccount, a Role narrower
than `edit` with its binding, a ResourceQuota and a LimitRange sized from the lecture's own manifests, a
NetworkPolicy on ingress and egress (class_fence.py says what each piece closes), and a kubeconfig
holding a time-limited token for that ServiceAccount (mode 0600, under .workshop/class/, listed in
roster.json) that names the cluster where a student's laptop reaches it (class_door.py). Everything is
recorded before it is made, with the cluster it is made on; `down` deletes exactly the recorded things,
on that cluster only, never a namespace of the same name that the class did not create."""

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from workshop import ledger
from workshop.cli import WorkshopError
from workshop.cluster import class_door, class_fence, kind, kubectl
from workshop.cluster.class_fence import objects, quota
from workshop.machine import app_images
from workshop.machine.engine import ENGINE as engine
from workshop.paths import kubeconfig, state, write_private


def class_dir() -> Path:
    """The class's kubeconfigs and roster."""
    return state() / "class"


def roster_file() -> Path:
    return class_dir() / "roster.json"


PREFIX = "cs198-student-"
ACCOUNT = class_fence.ACCOUNT
TOKEN_HOURS = 8
MAX_STUDENTS = 200
LEDGER_KIND = "class-namespace"
SERVE_FILE = "serve.json"  # scripts/class serve: the links' secrets
SERVE_PORT = 8198  # scripts/class serve: the class's pages
SERVE_DIR = "serve"  # scripts/class serve: the lecture's copy and each student's check state


def namespace_of(number: int) -> str:
    return f"{PREFIX}{number:02d}"


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


def _ours_here(kind: str, name: str, here: kubectl.Identity) -> bool:
    """Did the class make this, on this very cluster? (A record made on another cluster proves nothing here.)"""
    made = kubectl.Identity.recorded(ledger.find(kind, name))
    return made is not None and made.uid == here.uid


def _make_cluster_object(body: dict, admin: Path, context: str | None, here: kubectl.Identity) -> None:
    """A cluster-wide object of the class: refused if one of that name is there and not the class's;
    recorded before it is made."""
    kind, name = body["kind"], body["metadata"]["name"]
    key = f"{kind.lower()}/{name}"
    there = _admin("get", kind.lower(), name, "--ignore-not-found", "-o", "name", config=admin).stdout.strip()
    if there and not _ours_here(CLUSTER_LEDGER_KIND, key, here):
        raise WorkshopError(
            f"the cluster already has a {kind} {name} that the class did not create; delete it "
            f"yourself if it is unused, or use another cluster"
        )
    ledger.record(CLUSTER_LEDGER_KIND, key, context=context, **here.record())
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
        return kubeconfig()
    from workshop.cluster import existing

    copy = class_dir() / "admin.kubeconfig"
    write_private(copy, yaml.safe_dump(existing.extract(context, existing.user_kubeconfigs()), sort_keys=False))
    return copy


def student_kubeconfig(admin: Path, namespace: str, cluster: dict) -> str:
    """A kubeconfig for one student: `cluster` (the entry students reach), a token of the namespace's
    ServiceAccount."""
    token = _admin(
        "create", "token", ACCOUNT, "-n", namespace, f"--duration={TOKEN_HOURS}h", config=admin
    ).stdout.strip()
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "workshop",
            "clusters": [{"name": "workshop", "cluster": cluster}],
            "users": [{"name": namespace, "user": {"token": token}}],
            "contexts": [
                {"name": "workshop", "context": {"cluster": "workshop", "user": namespace, "namespace": namespace}}
            ],
        },
        sort_keys=False,
    )


def students_cluster(admin: Path, context: str | None, address: str | None, say: Callable[[str], None]) -> dict:
    """The cluster entry students' kubeconfigs name, checked to answer there before anything is handed out.
    On the workshop's kind cluster: its door at ADDR (default: this machine's address on its default
    route). On a cluster of the teacher's: its server as it is."""
    on_kind = context is None and kind.ours()  # the workshop's own kind cluster
    if not on_kind:
        if address:
            raise WorkshopError(
                "--address publishes the workshop's kind cluster; a cluster of yours (--context, or scripts/"
                "cluster up --context) is handed out at its own server: leave --address out"
            )
        cluster = kubectl.cluster_entry(admin)
        host = class_door.server_host(admin)
        if class_door.is_loopback(host):
            say(
                f"warning: the cluster's server {cluster.get('server')} is a loopback address: students on "
                f"other laptops cannot reach it, only programs on the machine that runs the cluster"
            )
        return cluster
    chosen = class_door.check_address(address) if address else class_door.default_address()
    if class_door.is_loopback(chosen):
        say(f"warning: {chosen} is this machine's loopback: only students on this machine can use the class")
        return kubectl.cluster_entry(admin)
    server = class_door.open_at(chosen)
    say(
        f"students reach the cluster at {server}"
        + ("" if address else " (this machine's address on its default route; --address ADDR to choose another)")
    )
    cluster = class_door.student_cluster(admin, server)
    why = class_door.answers(admin, cluster)
    if why:
        raise WorkshopError(
            f"the cluster does not answer at {server} ({why}): check that {chosen} is this machine's address "
            f"on the class's network and that no firewall blocks TCP {class_door.PORT} there, or give "
            f"another with --address"
        )
    return cluster


def lecture_images() -> list[str]:
    """What the students' boxes run: the manifests' images and the v2 of the rollout slide."""
    return app_images.manifest_images() + [f"{app_images.APP}:v2"]


def push_to(target: str, say: Callable[[str], None], images: list[str] | None = None) -> None:
    """--registry: the lecture's images pushed to a registry the cluster's nodes can reach, under the same
    names after the host (the local tags made for the push are recorded, so reset removes them)."""
    for image in lecture_images() if images is None else images:
        if not engine.image_id(image):
            raise WorkshopError(f"{image} is not on this machine: run scripts/prepare app-images deck-images first")
        there = target + image[len(app_images.ADDRESS) :]
        engine.tag(image, there)
        ledger.record("image", there, id=engine.image_id(there), role="app")
        engine.push(there, timeout=600)
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
    students: int,
    context: str | None = None,
    say: Callable[[str], None] = print,
    registry: str | None = None,
    address: str | None = None,
) -> list[dict]:
    if not 1 <= students <= MAX_STUDENTS:
        raise WorkshopError(f"--students must be between 1 and {MAX_STUDENTS}")
    class_dir().mkdir(parents=True, exist_ok=True)
    os.chmod(class_dir(), 0o700)
    admin = admin_config(context)
    here = kubectl.identity(admin)
    if here is None:
        raise WorkshopError("the class's cluster does not answer: `scripts/cluster status` says why")
    made_on = kubectl.Identity.recorded(
        json.loads(roster_file().read_text()).get("cluster") if roster_file().is_file() else None
    )
    if made_on and made_on.uid != here.uid:
        raise WorkshopError(
            f"a class is on record for {made_on}, and this is {here}: run scripts/class down (or "
            f"scripts/class down --forget if that cluster is gone) first"
        )
    cluster = students_cluster(admin, context, address, say)
    if registry:
        push_to(registry, say)
    roster, hard = [], quota()
    _make_cluster_object(NODE_VIEWER_ROLE, admin, context, here)
    for body in class_fence.admission_policy():
        _make_cluster_object(body, admin, context, here)
    for number in range(1, students + 1):
        namespace = namespace_of(number)
        there = _admin(
            "get", "namespace", namespace, "--ignore-not-found", "-o", "jsonpath={.status.phase}", config=admin
        ).stdout.strip()
        if there == "Terminating":  # a class just taken down: its namespaces are still going
            say(f"{namespace}: waiting for the one being deleted to go")
            _admin("wait", "--for=delete", f"namespace/{namespace}", "--timeout=180s", config=admin, timeout=200)
            there = ""
        if there and not _ours_here(LEDGER_KIND, namespace, here):
            raise WorkshopError(
                f"the cluster already has a namespace {namespace} that the class did not create; it "
                f"is not the class's to use: delete it yourself if it is unused, or use another cluster"
            )
        ledger.record(LEDGER_KIND, namespace, context=context, **here.record())  # before it exists
        _admin(
            "apply",
            "-f",
            "-",
            config=admin,
            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects(namespace, hard)}),
        )
        for binding in node_viewer(namespace):
            _make_cluster_object(binding, admin, context, here)
        path = class_dir() / f"{namespace}.kubeconfig"
        write_private(path, student_kubeconfig(admin, namespace, cluster))
        roster.append(
            {
                "student": number,
                "namespace": namespace,
                "kubeconfig": str(path),
                "expires": time.strftime("%Y-%m-%d %H:%M", time.localtime(time.time() + TOKEN_HOURS * 3600)),
            }
        )
        say(
            f"{namespace}: ready, kubeconfig {path.relative_to(state().parent) if state().parent in path.parents else path}"
        )
    write_private(
        roster_file(),
        json.dumps(
            {
                "context": context,
                "registry": registry,
                "cluster": here.record(),
                "server": cluster.get("server"),
                "students": roster,
            },
            indent=2,
        )
        + "\n",
    )
    check_pull(admin, namespace_of(1), registry)
    return roster


def _forget_all(recorded: list[dict], cluster_objects: list[dict]) -> None:
    for entry in recorded:
        ledger.forget(LEDGER_KIND, entry["name"])
        (class_dir() / f"{entry['name']}.kubeconfig").unlink(missing_ok=True)
    for entry in cluster_objects:
        ledger.forget(CLUSTER_LEDGER_KIND, entry["name"])
    roster_file().unlink(missing_ok=True)
    (class_dir() / "admin.kubeconfig").unlink(missing_ok=True)
    # what scripts/class serve kept (the links, each student's check state and the lecture's copy)
    (class_dir() / SERVE_FILE).unlink(missing_ok=True)
    shutil.rmtree(class_dir() / SERVE_DIR, ignore_errors=True)


def down(say: Callable[[str], None] = print, forget: bool = False) -> str:
    """Delete what the class made, on the cluster it made it on, and nowhere else. With forget: delete
    nothing on any cluster (it is gone, or you delete its namespaces yourself) and forget the class."""
    recorded = ledger.of_kind(LEDGER_KIND)
    cluster_objects = ledger.of_kind(CLUSTER_LEDGER_KIND)
    door = class_door.close()
    if not recorded and not cluster_objects:
        return "no class to remove" + (" (closed its door)" if door else "")
    if forget:
        _forget_all(recorded, cluster_objects)
        return f"forgot the class: {len(recorded)} namespace(s), nothing deleted on any cluster"
    roster = json.loads(roster_file().read_text()) if roster_file().is_file() else {}
    context = roster.get("context") or next(
        (e.get("context") for e in recorded + cluster_objects if e.get("context")), None
    )
    entries = recorded + cluster_objects
    made_on = kubectl.Identity.recorded(roster.get("cluster")) or next(
        (kubectl.Identity.recorded(e) for e in entries if e.get("cluster_uid")), None
    )
    gone_for_good = "or scripts/class down --forget if it is gone for good"
    if made_on is None or any(e.get("cluster_uid") != made_on.uid for e in entries):
        raise WorkshopError(
            "the class's record does not say which cluster every namespace is on: nothing was deleted; "
            "delete its namespaces yourself, then run scripts/class down --forget"
        )
    admin = admin_config(context) if (context or kubectl.exists()) else None
    here = kubectl.identity(admin) if admin is not None else None
    if admin is None or here is None:
        raise WorkshopError(
            f"the class's cluster, {made_on}, does not answer: nothing was deleted; start it and run "
            f"scripts/class down again, {gone_for_good}"
        )
    if here.uid != made_on.uid:
        raise WorkshopError(
            f"the class was made on {made_on}, but the workshop now reaches {here}: nothing was deleted; "
            f"point the workshop back at the class's cluster and run scripts/class down again, {gone_for_good}"
        )
    for entry in recorded:
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
    for entry in cluster_objects:
        _admin("delete", entry["name"], "--ignore-not-found", config=admin, check=False, timeout=60)
    _forget_all(recorded, cluster_objects)
    return f"removed the class: {len(recorded)} namespace(s) and their kubeconfigs"


def forget_cluster(gone: kubectl.Identity) -> None:
    """The cluster `gone` was deleted (scripts/cluster down): what the class made there went with it."""
    recorded = [e for e in ledger.of_kind(LEDGER_KIND) if e.get("cluster_uid") == gone.uid]
    cluster_objects = [e for e in ledger.of_kind(CLUSTER_LEDGER_KIND) if e.get("cluster_uid") == gone.uid]
    class_door.close()
    if recorded or cluster_objects:
        _forget_all(recorded, cluster_objects)
