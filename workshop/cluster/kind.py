"""The kind provider: a cluster of one control plane and two workers in Docker containers, wired
to the local registry the way kind's documentation describes (the registry container on the `kind`
network, containerd told that localhost:5001 means that container, the local-registry-hosting
ConfigMap).

Its node image is the upstream one for the kind release the README names (Kubernetes 1.37), pinned by
digest, where the engine can pull it; elsewhere (these machines reach no container registry) the
workshop builds one from Debian's packages and its own build of the newest 1.37 patch (node_build.py,
kind_node/build.sh), with a small CNI of its own and kube-network-policies in place of kindnetd.
A kind cluster named like the workshop's that the workshop did not create is never touched."""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from workshop import ledger
from workshop.cli import WorkshopError
from workshop.cluster import kubectl, node_build
from workshop.machine import engine, engine_install, host, registry
from workshop.machine.standins import base_images
from workshop.names import KIND_CLUSTER as NAME, KIND_NODE_BASE
from workshop.paths import kubeconfig, state, write_private

PINNED = node_build.recipe_versions()  # kind_node/versions.env
KIND_VERSION = PINNED["KIND_VERSION"]
# kind v0.33.0's default node image (its pkg/apis/config/defaults/image.go): Kubernetes v1.37.0
UPSTREAM_IMAGE = "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
RECIPE = node_build.RECIPE
LOCAL_IMAGE = f"workshop-kind/node:{node_build.kubernetes_version()}-{PINNED['NODE_BUILD']}"
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
    bundled = engine_install.Layout(engine_install.MACHINE_HOME).prefix / "usr/bin/kind"
    return str(bundled) if os.access(bundled, os.X_OK) else None


def available() -> bool:
    return program() is not None


def command() -> str:
    """kind's path, or the one-line error that says how to install it."""
    found = program()
    if found is None:
        raise WorkshopError("kind is not installed: see https://kind.sigs.k8s.io/docs/user/quick-start/")
    return found


def _kind(*args: str, timeout: float = 600, input_text: str | None = None, fix: str = ""):
    return host.run(
        [command(), *args], timeout=timeout, input=input_text, env=engine.environment(), what=f"kind {args[0]}", fix=fix
    )


def exists() -> bool:
    return available() and NAME in _kind("get", "clusters", timeout=30).stdout.split()


def ours() -> bool:
    return ledger.find("cluster", f"kind/{NAME}") is not None


# ---------------------------------------------------------------- the node image


def node_image(say: Callable[[str], None]) -> str:
    """The upstream node image where it can be pulled, else the one built here (once per recipe)."""
    if engine.image_exists(UPSTREAM_IMAGE) or engine.try_pull(UPSTREAM_IMAGE, host.log_path("kind-node-image.log")):
        return UPSTREAM_IMAGE
    stamp = state() / "kind-node" / "recipe"
    if not (engine.image_exists(LOCAL_IMAGE) and stamp.is_file() and stamp.read_text() == recipe_hash()):
        build_node_image(say)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(recipe_hash())
    return LOCAL_IMAGE


def recipe_hash() -> str:
    digest = hashlib.sha256(node_build.kubernetes_version().encode())
    for path in sorted(p for p in RECIPE.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(RECIPE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def build_node_image(say: Callable[[str], None]) -> None:
    bins = node_build.ensure_binaries(say)
    prefix = engine_install.Layout(engine_install.MACHINE_HOME).prefix / "usr/bin"
    if not os.access(prefix / "containerd", os.X_OK):
        raise WorkshopError(
            f"{UPSTREAM_IMAGE.split('@')[0]} cannot be pulled, and building a node image here needs "
            f"the containerd 2.1 of the workshop's Docker stack: run scripts/prepare engine as root"
        )
    log = host.log_path("kind-node-build.log")
    say(
        f"{UPSTREAM_IMAGE.split('@')[0]} cannot be pulled: building {LOCAL_IMAGE} here (minutes the first time); "
        f"log in {host.shown(log)}"
    )
    base_images.ensure_base_images(say, [KIND_NODE_BASE])  # pulled, or its stand-in where nothing can be
    env = {
        **os.environ,
        "ENGINE_BIN": str(prefix),
        "WORKSHOP_ROOT": str(RECIPE.parents[2]),
        "K8S_BIN": str(bins),
        "KIND_NODE_WORK": str(state() / "kind-node"),
        "NODE_BASE_IMAGE": KIND_NODE_BASE,
        "WORKSHOP_PYTHON": sys.executable,
    }
    host.logged(["bash", str(RECIPE / "build.sh")], log, timeout=3600, what="building the kind node image", env=env)
    ledger.record("image", LOCAL_IMAGE, id=engine.image_id(LOCAL_IMAGE), role="kind-node")
    built = state() / "kind-node" / "tags"  # the base and component images it is made of
    for tag in built.read_text().split() if built.is_file() else []:
        ident = engine.image_id(tag) if tag != LOCAL_IMAGE else None
        if ident:
            ledger.record("image", tag, id=ident, role="kind-build")


def remove_build_images() -> list[str]:
    """Remove the images the node image was built from, those still of the id recorded."""
    removed = []
    for entry in ledger.of_kind("image"):
        if entry.get("role") == "kind-build":
            if engine.image_id(entry["name"]) == entry.get("id"):
                engine.docker("rmi", entry["name"], check=False)
                removed.append(entry["name"])
            ledger.forget("image", entry["name"])
    return removed


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
    for node in _kind("get", "nodes", "--name", NAME, timeout=30).stdout.split():
        folder = f"/etc/containerd/certs.d/{registry.ADDRESS}"
        engine.docker("exec", node, "mkdir", "-p", folder)
        engine.docker("exec", "-i", node, "cp", "/dev/stdin", f"{folder}/hosts.toml", input=HOSTS_TOML)
    networks = engine.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", registry.CONTAINER).stdout
    if "kind" not in json.loads(networks or "{}"):
        engine.docker("network", "connect", "kind", registry.CONTAINER)
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
        if not engine.output("network", "inspect", "kind"):
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
                fix=f"`docker logs {NAME}-control-plane` says more; scripts/cluster down cleans up",
            )
    _write_kubeconfig()
    _wait_ready(say)
    _wire_registry(say)
    return f"kind cluster {NAME!r}: {kubectl.node_summary()}"


def down(say: Callable[[str], None] = print, keep_image: bool = False) -> str:
    """Delete the workshop's kind cluster, the kind network if it brought it, and (unless keep_image,
    as between a benchmark's bring-ups) the node image it built."""
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
    image = ledger.find("image", LOCAL_IMAGE)
    if image and not keep_image and engine.image_id(LOCAL_IMAGE) == image.get("id"):
        engine.docker("rmi", LOCAL_IMAGE, check=False)
        ledger.forget("image", LOCAL_IMAGE)
        (state() / "kind-node" / "recipe").unlink(missing_ok=True)
        removed.append(f"its node image {LOCAL_IMAGE}")
        parts = remove_build_images()
        if parts:
            removed.append(f"the {len(parts)} images it was built from")
    return "deleted " + ", ".join(removed)


def _forget_network() -> str:
    """Remove the kind network if the workshop's cluster brought it (and no other cluster's node is on it)."""
    if not ledger.find("network", "kind"):
        return ""
    engine.docker("network", "disconnect", "kind", registry.CONTAINER, check=False)
    removed = engine.docker("network", "rm", "kind", check=False).returncode == 0
    if removed or not engine.output("network", "inspect", "kind"):
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

    def down(self, say: Callable[[str], None], keep_image: bool = False) -> str:
        return down(say, keep_image=keep_image)

    def status(self, say: Callable[[str], None]) -> str:
        return status(say)

    def made_anything(self) -> bool:
        return ours()


PROVIDER = Kind()
