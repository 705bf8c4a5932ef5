"""The kind provider: a cluster in Docker containers, wired to the local registry the way
kind's documentation describes (registry container on the `kind` network, containerd told
that localhost:5001 means that container, and the local-registry-hosting ConfigMap)."""
import json
import shutil
import subprocess
from typing import Callable

from workshop.cli import WorkshopError
from workshop.cluster import kubectl
from workshop.machine import host, registry
from workshop.machine.engine import docker
from workshop.names import KIND_CLUSTER as NAME
from workshop.paths import KUBECONFIG

# A pinned node image: the Kubernetes version the deck was rehearsed with.
NODE_IMAGE = "kindest/node:v1.32.2"
CLUSTER_CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
"""
HOSTS_TOML = f'[host."http://{registry.CONTAINER}:5000"]\n'
REGISTRY_CONFIGMAP = {
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
    "data": {"localRegistryHosting.v1": f'host: "{registry.ADDRESS}"\n'},
}


def available() -> bool:
    return shutil.which("kind") is not None


def _kind(*args: str, timeout: float = 600, input_text: str = None, fix: str = "") -> subprocess.CompletedProcess:
    return host.run(["kind", *args], timeout=timeout, input=input_text, what=f"kind {args[0]}", fix=fix)


def exists() -> bool:
    return available() and NAME in _kind("get", "clusters", timeout=30).stdout.split()


def _wire_registry(say: Callable[[str], None]) -> None:
    if registry.container_state() is None:
        raise WorkshopError(f"kind nodes reach the registry only as the {registry.CONTAINER} container: "
                            f"run scripts/prepare on a machine that can pull registry:2")
    for node in _kind("get", "nodes", "--name", NAME, timeout=30).stdout.split():
        folder = f"/etc/containerd/certs.d/{registry.ADDRESS}"
        docker("exec", node, "mkdir", "-p", folder)
        host.run(["docker", "exec", "-i", node, "cp", "/dev/stdin", f"{folder}/hosts.toml"], input=HOSTS_TOML)
    networks = docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", registry.CONTAINER).stdout
    if "kind" not in json.loads(networks or "{}"):
        docker("network", "connect", "kind", registry.CONTAINER)
    kubectl.run("apply", "-f", "-", stdin=json.dumps(REGISTRY_CONFIGMAP))
    say(f"registry {registry.ADDRESS} wired into the kind nodes")


def up(say: Callable[[str], None] = print) -> str:
    if not exists():
        say(f"creating kind cluster {NAME!r} ({NODE_IMAGE}); the first time takes a few minutes...")
        _kind("create", "cluster", "--name", NAME, "--image", NODE_IMAGE, "--kubeconfig", str(KUBECONFIG),
              "--wait", "120s", "--config", "-", input_text=CLUSTER_CONFIG,
              fix=f"Docker must be able to pull {NODE_IMAGE} (check the network), or on Linux as root "
                  f"use scripts/cluster up --provider local-node")
    else:
        KUBECONFIG.parent.mkdir(parents=True, exist_ok=True)
        KUBECONFIG.write_text(_kind("get", "kubeconfig", "--name", NAME, timeout=30).stdout)
    kubectl.rename_context(f"kind-{NAME}")
    _wire_registry(say)
    return f"kind cluster {NAME!r}: {kubectl.node_summary()}"


def down(say: Callable[[str], None] = print) -> str:
    if exists():
        _kind("delete", "cluster", "--name", NAME)
        return f"deleted kind cluster {NAME!r}"
    return f"no kind cluster named {NAME!r}"


def status(say: Callable[[str], None] = print) -> str:
    if not exists():
        return f"no kind cluster named {NAME!r}"
    return f"kind cluster {NAME!r}: {kubectl.node_summary()}"
