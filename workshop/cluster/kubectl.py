"""kubectl against the workshop's own kubeconfig (.workshop/kubeconfig, context `workshop`),
written by the cluster providers. The user's ~/.kube/config is never read by kubectl here."""

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workshop import paths
from workshop.cli import WorkshopError
from workshop.machine import host
from workshop.names import CONTEXT

# kubectl built with the kind node image's programs (where kindest/node cannot be pulled): the
# cluster's own version.
BUILT = "k8s-bin/*/kubectl"


def program() -> str:
    """The kubectl built with the node image, else the one on PATH (scripts/shell-bin/kubectl looks the same way)."""
    built = sorted(paths.state().glob(BUILT))
    if built:
        return str(built[-1])
    found = shutil.which("kubectl")
    if found:
        return found
    raise WorkshopError("kubectl is not installed: see https://kubernetes.io/docs/tasks/tools/ (or README.md)")


def run(
    *args: str,
    timeout: float = 60,
    check: bool = True,
    config: Path | None = None,
    context: str | None = CONTEXT,
    stdin: str | None = None,
) -> subprocess.CompletedProcess:
    """kubectl against the workshop cluster only (explicit --kubeconfig and --context)."""
    config = config or paths.kubeconfig()
    argv = [program(), "--kubeconfig", str(config)] + (["--context", context] if context else []) + list(args)
    # KUBECONFIG too: some kubectl wrappers (gcloud's version dispatcher) probe the server of
    # the context KUBECONFIG names before they even read --kubeconfig.
    env = {**os.environ, "KUBECONFIG": str(config)}
    return host.run(
        argv,
        timeout=timeout,
        check=check,
        input=stdin,
        env=env,
        what=f"kubectl {' '.join(args[:2])}",
        timeout_fix="is the cluster up? (scripts/cluster status)",
    )


# A kubeconfig whose server refuses at once: some kubectl wrappers (gcloud's version dispatcher)
# probe a server even for `version --client`, and without one they try localhost:8080.
NOWHERE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: nowhere, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: nowhere, user: {}}]
contexts: [{name: nowhere, context: {cluster: nowhere, user: nowhere}}]
current-context: nowhere
"""


def client_version() -> str | None:
    """kubectl's own version (e.g. v1.34.11), asked without reaching any cluster; None if it does not say."""
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "kubeconfig"
        config.write_text(NOWHERE_KUBECONFIG)
        done = run("version", "--client", "-o", "json", timeout=20, check=False, config=config, context=None)
    try:
        return json.loads(done.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        return None


def server_version(timeout: float = 15) -> str | None:
    """The workshop cluster's API server version (e.g. v1.37.2), None when it does not answer."""
    done = run("version", "-o", "json", timeout=timeout, check=False)
    try:
        return json.loads(done.stdout)["serverVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        return None


def exists() -> bool:
    return paths.kubeconfig().is_file() and paths.kubeconfig().stat().st_size > 0


def cluster_entry(config: Path | None = None) -> dict:
    """The cluster entry (server, certificate authority) of a kubeconfig's current context."""
    import yaml

    data = yaml.safe_load((config or paths.kubeconfig()).read_text()) or {}
    contexts = data.get("contexts") or []
    current = next((c for c in contexts if c.get("name") == data.get("current-context")), None) or (contexts or [{}])[0]
    name = (current.get("context") or {}).get("cluster")
    return next((c.get("cluster") or {} for c in data.get("clusters") or [] if c.get("name") == name), {})


@dataclass(frozen=True)
class Identity:
    """Which cluster a kubeconfig reaches, by something a second cluster cannot share: the UID of its
    kube-system namespace (made once, when the cluster is made), or, for a user who may not read that,
    a digest of the certificate authority the cluster is verified with; with the server for people
    to read."""

    uid: str
    server: str

    def __str__(self) -> str:
        if self.uid.startswith("ca-"):
            return f"the cluster at {self.server} (certificate authority {self.uid[3:11]})"
        return f"the cluster at {self.server} (kube-system {self.uid[:8]})"

    def record(self) -> dict:
        return {"cluster_uid": self.uid, "server": self.server}

    @staticmethod
    def recorded(entry: dict | None) -> "Identity | None":
        if not entry or not entry.get("cluster_uid"):
            return None
        return Identity(entry["cluster_uid"], entry.get("server", "?"))


def identity(config: Path | None = None, context: str | None = None, timeout: float = 20) -> Identity | None:
    """The identity of the cluster `config` reaches, or None when it does not answer."""
    config = config or paths.kubeconfig()
    if not config.is_file():
        return None
    try:
        done = run(
            "get",
            "namespace",
            "kube-system",
            "-o",
            "jsonpath={.metadata.uid}",
            f"--request-timeout={int(timeout)}s",
            config=config,
            context=context,
            check=False,
            timeout=timeout + 10,
        )
    except WorkshopError:
        return None
    uid = done.stdout.strip()
    entry = cluster_entry(config)
    if done.returncode != 0 and "forbidden" in done.stderr.lower():
        # the API server answered, but this user may not read kube-system (a department cluster, a
        # student's token): the certificate authority it is verified with is the cluster's own
        authority = _authority(entry)
        return Identity(f"ca-{authority}", entry.get("server", "?")) if authority else None
    if done.returncode != 0 or not uid:
        return None
    return Identity(uid, entry.get("server", "?"))


def _authority(entry: dict) -> str | None:
    """A digest of a cluster entry's certificate authority, inline or in its file."""
    import hashlib

    data = entry.get("certificate-authority-data", "").encode()
    if not data and entry.get("certificate-authority"):
        try:
            data = Path(entry["certificate-authority"]).read_bytes()
        except OSError:
            return None
    return hashlib.sha256(data).hexdigest()[:32] if data else None


def rename_context(old: str, config: Path | None = None) -> None:
    if old != CONTEXT:
        run("config", "rename-context", old, CONTEXT, config=config, context=None)


@dataclass(frozen=True)
class Nodes:
    """What `kubectl get nodes` said: how many, how many Ready, the kubelet versions; or why nobody
    answered. Printed, it is the one line doctor and cluster status show."""

    total: int = 0
    ready: int = 0
    versions: tuple[str, ...] = ()
    unreachable: str = ""

    def __str__(self) -> str:
        if self.unreachable:
            return f"not reachable: {self.unreachable}"
        return f"{self.total} node(s), {self.ready} Ready ({', '.join(self.versions)})"

    @property
    def answers(self) -> bool:
        """The API server answered and at least one node is Ready."""
        return not self.unreachable and self.ready > 0


def node_summary(timeout: float = 15, config: Path | None = None) -> Nodes:
    """The workshop cluster's nodes, e.g. '1 node(s), 1 Ready (v1.34.11)', or why it is not reachable."""
    done = run(
        "get",
        "nodes",
        "--no-headers",
        "-o",
        "custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type=='Ready')].status,"
        "VERSION:.status.nodeInfo.kubeletVersion",
        timeout=timeout,
        check=False,
        config=config,
        context=CONTEXT if config in (None, paths.kubeconfig()) else None,
    )
    if done.returncode != 0:
        return Nodes(unreachable=host.last_line(done.stderr) or "no answer")
    rows = [line.split() for line in done.stdout.splitlines() if line.strip()]
    ready = sum(1 for row in rows if len(row) > 1 and row[1] == "True")
    return Nodes(len(rows), ready, tuple(sorted({row[2] for row in rows if len(row) > 2})))


def all_ready(nodes: Nodes, count: int | None = None) -> bool:
    """Is every node Ready (and, given count, are there so many)?"""
    return nodes.answers and nodes.ready == nodes.total and count in (None, nodes.total)


def cluster_ready(timeout: float = 15) -> bool:
    """Does the workshop cluster answer, with at least one node Ready? (A lost node is the rehearsal's
    diagnosis to name, not a reason to call the cluster missing; all_ready() asks for every node.)"""
    if not exists():
        return False
    try:
        return node_summary(timeout).answers
    except WorkshopError:
        return False
