"""NetworkPolicy means the same on the workshop's kind cluster as on a laptop's: on the node image
built here, kube-network-policies (as kindnetd embeds it) drops what a policy does not allow.
Real pods, a real policy, real TCP connections, in a namespace the test makes and removes."""

import json
import time
import uuid

import pytest

from workshop.cluster import kubectl
from workshop.machine import app_images

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.classroom]  # the class lane (conftest)

POLICIES = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: only-friends}
spec:
  podSelector: {matchLabels: {app: server}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {role: friend}}}]}]
"""


def redis_image() -> str:
    return next(image for image in app_images.manifest_images() if "/redis:" in image)


def pod(name: str, labels: dict, command: list) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "main",
                        "image": redis_image(),
                        "command": command,
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "runAsNonRoot": True,
                            "runAsUser": 999,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                    }
                ],
            },
        }
    )


def pings(namespace: str, name: str, labels: dict, address: str) -> str:
    """What a client pod with these labels got from five tries at the server (PONG or BLOCKED each)."""
    loop = f"for i in 1 2 3 4 5; do timeout 3 redis-cli -h {address} ping || echo BLOCKED; sleep 1; done"
    kubectl.run("apply", "-n", namespace, "-f", "-", stdin=pod(name, labels, ["sh", "-c", loop]))
    kubectl.run(
        "wait",
        "-n",
        namespace,
        f"pod/{name}",
        "--for=jsonpath={.status.phase}=Succeeded",
        "--timeout=120s",
        timeout=150,
    )
    return kubectl.run("logs", "-n", namespace, name).stdout


def test_a_policy_lets_in_only_the_pods_it_names(workshop_cluster):
    namespace = f"workshop-test-netpol-{uuid.uuid4().hex[:6]}"
    kubectl.run("create", "namespace", namespace)
    try:
        kubectl.run(
            "apply",
            "-n",
            namespace,
            "-f",
            "-",
            stdin=pod("server", {"app": "server"}, ["redis-server", "--protected-mode", "no"]),
        )
        kubectl.run("wait", "-n", namespace, "pod/server", "--for=condition=Ready", "--timeout=120s", timeout=150)
        address = kubectl.run("get", "pod", "server", "-n", namespace, "-o", "jsonpath={.status.podIP}").stdout
        assert pings(namespace, "before", {"role": "anyone"}, address).split() == ["PONG"] * 5
        kubectl.run("apply", "-n", namespace, "-f", "-", stdin=POLICIES)
        time.sleep(2)  # the agents watch policies; give them a moment
        assert pings(namespace, "stranger", {"role": "anyone"}, address).split() == ["BLOCKED"] * 5
        assert pings(namespace, "friend", {"role": "friend"}, address).split() == ["PONG"] * 5
    finally:
        kubectl.run("delete", "namespace", namespace, "--wait=false", check=False)
