"""Each student's terminal in the browser (scripts/class serve): one pod in the student's namespace,
running the class terminal image (provision/class_terminal/, built by `scripts/prepare class-terminal`)
as the student's own ServiceAccount, so kubectl in it meets the same fence as the student's
kubeconfig: their Role, their quota, their NetworkPolicy, Pod Security `restricted`.

Two additions to the fence make it work, and neither widens it for a student's own pods:
- a NetworkPolicy lets pods labelled as the class terminal open connections to the API server (only
  there), as the student's kubeconfig already may from their laptop;
- the class's admission policy refuses that label on any pod a student's own identity, or a
  controller acting for it, makes or changes: only the teacher's `class serve` makes the terminal."""

import hashlib
import json
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.cluster import kubectl
from workshop.machine import host
from workshop.names import REGISTRY
from workshop.paths import ROOT

RECIPE = ROOT / "provision" / "class_terminal"
REPOSITORY = "cs198-terminal"
POD = "cs198-terminal"
LABEL_KEY = "cs198.edu/terminal"
API_POLICY = "class-terminal-to-api-server"
USER = 10001
# what the terminal pod asks for and may use; the student's quota makes room for it (class_fence.quota)
RESOURCES = {
    "requests": {"cpu": "20m", "memory": "48Mi", "ephemeral-storage": "16Mi"},
    "limits": {"cpu": "500m", "memory": "256Mi", "ephemeral-storage": "128Mi"},
}
_HOME = "/home/student"
NONE_YET = "no terminal yet"


def recipe_files() -> dict[str, bytes]:
    """What the image is made of, by path in the build context: the recipe folder's files (its Python aside)
    and the lecture's k8s_demo/ as committed (git HEAD), not as the deck's own boxes leave the teacher's
    copy mid-lecture (they edit two of its files with sed -i, then put them back); the working copy where
    this is no git checkout."""
    found = {p.name: p.read_bytes() for p in sorted(RECIPE.iterdir()) if p.is_file() and p.suffix != ".py"}
    listed = host.run(["git", "-C", str(ROOT), "ls-files", "k8s_demo"], check=False, timeout=30)
    if listed.returncode == 0 and listed.stdout.strip():
        for name in listed.stdout.split():
            shown = host.run(["git", "-C", str(ROOT), "show", f"HEAD:{name}"], check=False, timeout=30)
            found[name] = (shown.stdout if shown.returncode == 0 else (ROOT / name).read_text()).encode()
        return found
    for path in sorted((ROOT / "k8s_demo").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            found[str(path.relative_to(ROOT))] = path.read_bytes()
    return found


def image(files: dict[str, bytes] | None = None) -> str:
    """The terminal image's exact name: its tag is a hash of what it is made of, so a changed recipe is a
    new tag, and a node never runs a stale one under an old name."""
    digest = hashlib.sha256()
    for name, content in sorted((files or recipe_files()).items()):
        digest.update(name.encode() + b"\0" + content)
    return f"{REGISTRY}/{REPOSITORY}:r{digest.hexdigest()[:12]}"


def pod(namespace: str, account: str, labels: dict[str, str], image_name: str) -> dict:
    """The terminal pod: restricted, read-only but for its home and /tmp, the student's account."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": POD,
            "namespace": namespace,
            "labels": {**labels, "app": POD, LABEL_KEY: "true"},
        },
        "spec": {
            "serviceAccountName": account,
            "automountServiceAccountToken": True,
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 2,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": USER,
                "runAsGroup": USER,
                "fsGroup": USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "shell",
                    "image": image_name,
                    "imagePullPolicy": "IfNotPresent",
                    "env": [
                        {"name": "KUBECACHEDIR", "value": "/tmp/kube-cache"},
                        {"name": "HISTFILE", "value": "/tmp/.bash_history"},
                    ],
                    "resources": RESOURCES,
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "readinessProbe": {"exec": {"command": ["test", "-f", f"{_HOME}/.ready"]}, "periodSeconds": 2},
                    "volumeMounts": [{"name": "home", "mountPath": _HOME}, {"name": "tmp", "mountPath": "/tmp"}],
                }
            ],
            "volumes": [
                {"name": "home", "emptyDir": {"sizeLimit": "64Mi"}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
            ],
        },
    }


def api_endpoints(admin: Path) -> list[tuple[str, int]]:
    """Where a pod reaches the API server: the `kubernetes` Service's address and the addresses behind it
    (a NetworkPolicy may see either, depending on where the plugin looks)."""
    service = json.loads(
        kubectl.run("get", "service", "kubernetes", "-n", "default", "-o", "json", config=admin, context=None).stdout
    )
    found = [(service["spec"]["clusterIP"], int(service["spec"]["ports"][0]["port"]))]
    slices = json.loads(
        kubectl.run(
            "get",
            "endpointslices",
            "-n",
            "default",
            "-l",
            "kubernetes.io/service-name=kubernetes",
            "-o",
            "json",
            config=admin,
            context=None,
        ).stdout
    )
    for item in slices["items"]:
        ports = [int(p["port"]) for p in item.get("ports") or []]
        for endpoint in item.get("endpoints") or []:
            found += [(address, port) for address in endpoint["addresses"] for port in ports]
    return found


def api_policy(namespace: str, endpoints: list[tuple[str, int]], labels: dict[str, str]) -> dict:
    """The terminal pod, and only it, may open connections to the API server."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": API_POLICY, "namespace": namespace, "labels": labels},
        "spec": {
            "podSelector": {"matchLabels": {LABEL_KEY: "true"}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": f"{address}/{32 if '.' in address else 128}"}}],
                    "ports": [{"protocol": "TCP", "port": port}],
                }
                for address, port in endpoints
            ],
        },
    }


def state(admin: Path, namespace: str) -> tuple[bool, str]:
    """(ready, why not) of a student's terminal pod; why is '' when it is ready."""
    done = kubectl.run(
        "get", "pod", POD, "-n", namespace, "-o", "json", config=admin, context=None, check=False, timeout=20
    )
    if done.returncode != 0:
        if "NotFound" in done.stderr:
            namespace_there = kubectl.run(
                "get", "namespace", namespace, "-o", "name", config=admin, context=None, check=False, timeout=20
            )
            if namespace_there.returncode != 0:
                return False, f"the namespace {namespace} is gone: the teacher runs scripts/class up again"
            return False, NONE_YET
        return False, "the cluster does not answer: " + (done.stderr.strip().splitlines() or ["?"])[-1][:120]
    return why_not_ready(json.loads(done.stdout))


def why_not_ready(found: dict) -> tuple[bool, str]:
    status = found.get("status", {})
    for container in status.get("containerStatuses") or []:
        if container.get("ready"):
            return True, ""
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return False, f"{waiting['reason']}: {waiting.get('message', '')}".strip(": ")[:240]
        ended = (container.get("state") or {}).get("terminated") or {}
        if ended:
            return False, f"the shell ended ({ended.get('reason', 'exit ' + str(ended.get('exitCode')))})"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return False, f"not scheduled: {condition.get('message', '')[:200]}"
    return False, f"starting ({status.get('phase', 'Pending')})"


def ensure(
    admin: Path, namespace: str, account: str, labels: dict[str, str], endpoints: list[tuple[str, int]], image_name: str
) -> None:
    """Make the student's terminal pod and its NetworkPolicy (the teacher's credentials make them; a pod of
    another image is replaced). Errors say what failed: the quota, the admission policy, Pod Security."""
    body = {"apiVersion": "v1", "kind": "List", "items": [api_policy(namespace, endpoints, labels)]}
    kubectl.run("apply", "-f", "-", config=admin, context=None, stdin=json.dumps(body), timeout=30)
    there = kubectl.run(
        "get",
        "pod",
        POD,
        "-n",
        namespace,
        "-o",
        "jsonpath={.spec.containers[0].image}",
        config=admin,
        context=None,
        check=False,
        timeout=20,
    )
    if there.returncode == 0 and there.stdout.strip() == image_name:
        return
    if there.returncode == 0:
        kubectl.run("delete", "pod", POD, "-n", namespace, "--wait=true", config=admin, context=None, timeout=60)
    made = kubectl.run(
        "create",
        "-f",
        "-",
        config=admin,
        context=None,
        stdin=json.dumps(pod(namespace, account, labels, image_name)),
        check=False,
        timeout=30,
    )
    if made.returncode != 0 and "AlreadyExists" not in made.stderr:
        why = (made.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise WorkshopError(f"the terminal pod in {namespace} was refused: {why[:300]}")
