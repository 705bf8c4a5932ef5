"""The kind provider: a cluster of one control plane and two workers in Docker containers, wired
to the local registry the way kind's documentation describes (the registry container on the `kind`
network, containerd told that localhost:5001 means that container, the local-registry-hosting
ConfigMap).

Its node image is kind's own for the Kubernetes minor of versions.env, pinned there by digest, where
the engine can pull it; elsewhere (these machines reach no container registry) scripts/cluster build
(provision/node_image.py) makes one from Debian's packages and a build of the same Kubernetes from
source, with a small CNI of its own and kube-network-policies in place of kindnetd; `up` only looks for it.
A kind cluster named like the workshop's that the workshop did not create is never touched."""

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from workshop import ledger, versions
from workshop.cli import WorkshopError, story_file
from workshop.cluster import kubectl
from workshop.machine import host, installed, registry
from workshop.machine.engine import ENGINE as engine
from workshop.names import KIND_CLUSTER as NAME
from workshop.paths import kubeconfig, write_private

KIND_VERSION = versions.kind_version()
# kind's default node image for that release (its pkg/apis/config/defaults/image.go), pinned by digest
UPSTREAM_IMAGE = versions.upstream_node_image()
LOCAL_IMAGE = versions.local_node_image()  # built by provision/node_image.py where UPSTREAM_IMAGE cannot be pulled
NODES = 3
MEMORY_NEEDED_MIB = 2048  # three nodes and the lecture's app, measured here at about 1.2 GiB
READY_SECONDS = 240
CLUSTER_CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
  - role: worker
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
  # without CAP_SYS_RESOURCE (some VMs) runc cannot lower a container's oom_score_adj below its own
  - |-
    [plugins."io.containerd.grpc.v1.cri"]
      restrict_oom_score_adj = true
"""
# Since 1.35 the kubelet refuses a cgroup v1 host unless told otherwise (KEP-5573). Only there.
CGROUP_V1_PATCH = """kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    failCgroupV1: false
"""


def cluster_config(cgroup_version: str) -> str:
    """kind's configuration for the workshop's cluster on an engine with this cgroup version."""
    return CLUSTER_CONFIG + (CGROUP_V1_PATCH if cgroup_version == "1" else "")


def engine_cgroup_version() -> str:
    found = engine.facts(timeout=20)
    return found.cgroup_version if found else "2"


HOSTS_TOML = f'[host."http://{registry.CONTAINER}:{registry.INSIDE_PORT}"]\n'
REGISTRY_CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
    "data": {"localRegistryHosting.v1": f'host: "{registry.ADDRESS}"\n'},
}


def program() -> str | None:
    """kind on PATH, else the kind 0.33.0 of the Docker stack the workshop installed."""
    found = shutil.which("kind")
    if found:
        return found
    bundled = installed.stack_program("kind")
    return str(bundled) if bundled else None


def available() -> bool:
    return program() is not None


def command() -> str:
    """kind's path, or the one-line error that says how to install it."""
    found = program()
    if found is None:
        raise WorkshopError("kind is not installed: see https://kind.sigs.k8s.io/docs/user/quick-start/")
    return found


def _kind(*args: str, timeout: float = 600, input_text: str | None = None, fix: str = "", timeout_fix: str = ""):
    return host.run(
        [command(), *args],
        timeout=timeout,
        input=input_text,
        env=engine.environment(),
        what=f"kind {args[0]}",
        fix=fix,
        timeout_fix=timeout_fix,
    )


def exists() -> bool:
    return available() and NAME in _kind("get", "clusters", timeout=30).stdout.split()


def ours() -> bool:
    return ledger.find("cluster", f"kind/{NAME}") is not None


# ---------------------------------------------------------------- the node image


def upstream_image_here() -> bool:
    """Is kind's own node image here, or pulled now?"""
    return engine.image_exists(UPSTREAM_IMAGE) or engine.try_pull(UPSTREAM_IMAGE, host.log_path("kind-node-image.log"))


def node_image(say: Callable[[str], None]) -> str:
    """The upstream node image where it is here or can be pulled, else the one provision/ built (scripts/cluster
    build); the one-line fix when neither is there. Nothing is built here."""
    if upstream_image_here():
        return UPSTREAM_IMAGE
    if engine.image_exists(LOCAL_IMAGE):
        return LOCAL_IMAGE
    raise WorkshopError(
        f"{UPSTREAM_IMAGE.split('@')[0]} cannot be pulled and no {LOCAL_IMAGE} is built here: run scripts/cluster "
        f"build (it builds one from Debian's packages and Kubernetes' source, minutes the first time), then this again"
    )


# ---------------------------------------------------------------- the cluster


def _check_can_create() -> None:
    if engine.server_version(timeout=10) is None:
        raise WorkshopError(
            "no Docker engine answers, and kind's nodes are containers: start Docker, or run scripts/prepare engine"
        )
    free = psutil.virtual_memory().available // 2**20
    if free < MEMORY_NEEDED_MIB:
        raise WorkshopError(
            f"{NODES} kind nodes and the app need about {MEMORY_NEEDED_MIB} MiB of free memory and "
            f"{free} MiB are free: close programs, or use a cluster you have with scripts/cluster up "
            f"--context NAME"
        )
    if registry.container_state() != "running":
        raise WorkshopError(
            f"kind's nodes reach the registry only as the {registry.CONTAINER} container: run "
            f"scripts/prepare registry first (it starts that container)"
        )


def _wire_registry(say: Callable[[str], None]) -> None:
    """Tell each node's containerd where localhost:5001 is (one exec per node, all at once), put the
    registry on the kind network and publish the ConfigMap. It needs the node containers and the API
    server, both there once `kind create` returns, not Ready nodes: up runs it during that wait."""
    folder = f"/etc/containerd/certs.d/{registry.ADDRESS}"
    write = ["sh", "-c", 'mkdir -p "$1" && cat > "$1/hosts.toml"', "sh", folder]
    nodes = _kind("get", "nodes", "--name", NAME, timeout=30).stdout.split()
    with ThreadPoolExecutor(max_workers=max(len(nodes), 1)) as pool:
        for done in [pool.submit(engine.exec, node, write, HOSTS_TOML) for node in nodes]:
            done.result()
    found = engine.container(registry.CONTAINER)
    if found is None or "kind" not in found.networks:
        engine.network_connect("kind", registry.CONTAINER)
    kubectl.run("apply", "-f", "-", stdin=json.dumps(REGISTRY_CONFIGMAP))
    say(f"registry {registry.ADDRESS} wired into the kind nodes")


def _write_kubeconfig() -> None:
    write_private(kubeconfig(), _kind("get", "kubeconfig", "--name", NAME, timeout=30).stdout)
    kubectl.rename_context(f"kind-{NAME}")


def _wait_ready(say: Callable[[str], None]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        summary = kubectl.node_summary(timeout=15)
        if kubectl.all_ready(summary, NODES):
            return
        time.sleep(1)
    raise WorkshopError(
        f"the kind nodes are not all Ready after {READY_SECONDS} s ({kubectl.node_summary()}); "
        f"`kubectl get nodes` and `docker logs {NAME}-control-plane` say more"
    )


def up(say: Callable[[str], None] = print) -> str:
    if exists() and not ours():
        raise WorkshopError(
            f"a kind cluster named {NAME!r} exists that the workshop did not create; it is not the "
            f"workshop's to use or delete: delete it yourself (kind delete cluster --name {NAME}) "
            f"if it is unused"
        )
    if not exists():
        _check_can_create()
        image = node_image(say)
        say(f"creating kind cluster {NAME!r} ({NODES} nodes, {image.split('@')[0]})...")
        if not engine.network_exists("kind"):
            ledger.record("network", "kind")  # kind makes it with the first cluster: then it is ours
        # recorded before it exists: stopped during `kind create`, `cluster down` still removes it
        ledger.record("cluster", f"kind/{NAME}", image=image)
        with tempfile.TemporaryDirectory(prefix="workshop-kind-") as scratch:  # kind writes it: never ~/.kube
            os.chmod(scratch, 0o700)
            _kind(
                "create",
                "cluster",
                "--name",
                NAME,
                "--image",
                image,
                "--config",
                "-",
                "--kubeconfig",
                str(Path(scratch) / "kubeconfig"),
                input_text=cluster_config(engine_cgroup_version()),
                timeout=900,
                fix=f"kind has removed the nodes it made; its whole output, with kubeadm's, is in {story_file()}; "
                f"scripts/cluster up tries again",
                timeout_fix="scripts/cluster down removes what kind made so far; then scripts/cluster up",
            )
    _write_kubeconfig()
    with ThreadPoolExecutor(max_workers=1) as pool:
        wired = pool.submit(_wire_registry, say)
        _wait_ready(say)
        wired.result()
    return f"kind cluster {NAME!r}: {kubectl.node_summary()}"


def down(say: Callable[[str], None] = print) -> str:
    """Delete the workshop's kind cluster and the kind network if it brought it. A node image built here
    stays for the next `up` (scripts/reset --all removes it, with the images it was built from)."""
    if not exists():
        ledger.forget("cluster", f"kind/{NAME}")
        return f"no kind cluster named {NAME!r}" + _forget_network()
    if not ours():
        raise WorkshopError(f"the kind cluster {NAME!r} was not created by the workshop, so it is left as it is")
    _kind("delete", "cluster", "--name", NAME, timeout=300)
    ledger.forget("cluster", f"kind/{NAME}")
    removed = [f"kind cluster {NAME!r}"]
    if _forget_network():
        removed.append("the kind network")
    return "deleted " + ", ".join(removed)


def _forget_network() -> str:
    """Remove the kind network if the workshop's cluster brought it (and no other cluster's node is on it)."""
    if not ledger.find("network", "kind"):
        return ""
    engine.network_disconnect("kind", registry.CONTAINER)
    removed = engine.network_remove("kind")
    if removed or not engine.network_exists("kind"):
        ledger.forget("network", "kind")
    return ", and the kind network it brought" if removed else ""


def status(say: Callable[[str], None] = print) -> str:
    if not exists():
        return f"no kind cluster named {NAME!r}"
    return f"kind cluster {NAME!r}{'' if ours() else ' (not the workshop' + chr(39) + 's)'}: {kubectl.node_summary()}"


class Kind:
    """The kind provider behind providers.Provider: the workshop makes and owns this cluster."""

    name = "kind"
    makes_cluster = True

    def check(self) -> None:
        if not available():
            raise WorkshopError(
                "kind is not installed: see https://kind.sigs.k8s.io/docs/user/quick-start/ "
                "(or use a cluster you have with scripts/cluster up --context NAME)"
            )

    def up(self, say: Callable[[str], None], context: str | None = None) -> str:
        return up(say)

    def down(self, say: Callable[[str], None]) -> str:
        return down(say)

    def status(self, say: Callable[[str], None]) -> str:
        return status(say)

    def made_anything(self) -> bool:
        return ours()


PROVIDER = Kind()
