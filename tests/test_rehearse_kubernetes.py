"""The Kubernetes part of slides.md rehearsed, unchanged, on a real cluster: a real API server,
scheduler, controllers and kubelet. Also: the self-healing step still passes after a pod and a
worker process are killed behind the deck's back."""

import json
import os
import signal
import threading
import time

import pytest

from conftest import need, run_command
from test_rehearse_deck import assert_fail_first
from workshop.cluster import kubectl, warm_up
from workshop.deck import reader as deck
from workshop.machine import docker_engine as engine
from workshop.names import PART_OF
from workshop.paths import DECK
from workshop.rehearsal import needs
from workshop.rehearsal.engine import Options, Rehearsal

pytestmark = [pytest.mark.slow, pytest.mark.cluster]
DECK_MODEL = deck.read(DECK)
KUBERNETES_SLIDES = sorted({b.slide for b in DECK_MODEL.boxes() if {"cluster", "registry"} & set(b.directives.needs)})


def slide_running(fragment: str) -> int:
    """The slide whose box command contains this text (so the tests follow the deck as it changes)."""
    return next(b.slide for b in DECK_MODEL.boxes() if fragment in (b.typed or ""))


def rehearse(*slides: int):
    results = Rehearsal(DECK_MODEL, Options(slides=list(slides))).run()
    for result in results:
        print(result.verdict, result.box.label, result.box.typed, result.problem, *result.details)
    return results


def test_the_kubernetes_part_rehearses_for_real(workshop_cluster, tmp_path):
    # from where the lecture starts: no app yet, so each step's check fails before its box (an earlier
    # test may have left the app running; a fresh cluster between them used to hide that)
    kubectl.run("delete", *warm_up.manifest_args(), "--ignore-not-found", "--wait=true", timeout=180)
    report = tmp_path / "rehearsal.json"
    slides = ",".join(str(n) for n in KUBERNETES_SLIDES)
    done = run_command("rehearse", "--slides", slides, "--check-steps", "--json", report, timeout=1800)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    steps = json.loads(report.read_text())["steps"]
    assert len(steps) >= 20 and all(step["verdict"] in ("OK", "SKIP") for step in steps)
    several = needs.worker_nodes() >= 2  # kind's three nodes; the local node has one
    assert_fail_first(
        steps,
        ("deployed", "service", "self-healed", "scaled", "rolled-out", "repaired"),  # rolled-back: extras
    )  # worker-limits and drained: in extras.md
    skipped = [step for step in steps if step["skipped"]]
    assert all("needs 2 or more worker nodes" in step["skipped"] for step in skipped) and (not skipped) == several


def worker_processes():
    """Host pids of the okpy-mini worker processes (pods' processes are host processes)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if b"okpy_mini.worker" in cmdline:
                found.append(int(entry))
    return found


@pytest.mark.cluster_alone
def test_self_healing_still_passes_after_a_pod_and_a_worker_process_are_killed(workshop_cluster):
    deploy, heal, clean = (
        slide_running("kubectl apply -f k8s_demo"),
        slide_running("kubectl delete $("),
        slide_running("kubectl delete -f k8s_demo/ok-worker.yaml"),
    )
    try:
        assert all(r.ok for r in rehearse(deploy))
        web_pods = kubectl.run("get", "pods", "-l", "app=ok-web", "-o", "name").stdout.split()
        kubectl.run("delete", web_pods[-1], "--grace-period=0", "--force", "--wait=false")
        workers = worker_processes()
        assert workers, "no okpy-mini worker process found on this machine"
        os.kill(workers[0], signal.SIGKILL)
        assert all(r.ok for r in rehearse(heal))
        restarts = kubectl.run(
            "get", "pods", "-l", "app=ok-worker", "-o", "jsonpath={.items[*].status.containerStatuses[*].restartCount}"
        ).stdout
        assert sum(int(n) for n in restarts.split()) >= 1  # the kubelet restarted the killed worker
    finally:
        rehearse(clean)


def _node_of(label: str) -> str:
    return kubectl.run("get", "pods", "-l", label, "-o", "jsonpath={.items[0].spec.nodeName}").stdout.strip()


def _when_updated_pause(node: str, said: list) -> None:
    """Pause the node's container as soon as ok-web's pod template names v2: mid-rollout."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        image = kubectl.run(
            "get", "deployment/ok-web", "-o", "jsonpath={.spec.template.spec.containers[0].image}", check=False
        ).stdout
        if image.endswith(":v2"):
            engine.docker("pause", node)
            said.append(time.monotonic())
            return
        time.sleep(0.2)


@pytest.mark.cluster_alone
def test_a_node_lost_mid_rollout_is_named_with_the_command_that_brings_it_back(workshop_cluster):
    """Fault drill: the node under Redis stops answering while ok-web rolls out (its new pods cannot get
    ready without Redis). The rollout box fails once the node is marked lost, naming the node and the
    fix, instead of waiting out its 3-minute timeout; afterwards nothing of the drill is left."""
    need(needs.worker_nodes() >= 2, "a cluster with 2 or more worker nodes (kind)", "scripts/cluster up on kind")
    deploy, update, clean = (
        slide_running("kubectl apply -f k8s_demo"),
        slide_running("web=localhost:5001/okpy-mini:v2"),
        slide_running("kubectl delete -f k8s_demo/ok-worker.yaml"),
    )
    node = None
    try:
        assert all(r.ok for r in rehearse(deploy))
        node = _node_of("app=redis")
        need(
            engine.output("container", "inspect", node) is not None,
            f"node {node} as a container (kind)",
            "scripts/cluster up on kind",
        )
        paused: list[float] = []
        pauser = threading.Thread(target=_when_updated_pause, args=(node, paused), daemon=True)
        pauser.start()
        results = rehearse(update)
        pauser.join()
        assert paused, "the rollout never started"
        failed = [r for r in results if not r.ok]
        assert failed and failed[0].problem == "a node was lost under the workshop's pods (see below)", failed
        lost = [line for line in failed[0].details if line.startswith(f"node {node} is lost")]
        assert lost and lost[0].endswith(f"bring it back: docker unpause {node}"), failed[0].details
        assert failed[0].seconds < 150  # the box's own timeout is 3 minutes
    finally:
        if node:
            engine.docker("unpause", node, check=False)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not kubectl.all_ready(kubectl.node_summary()):
            time.sleep(2)
        rehearse(clean)
    assert kubectl.all_ready(kubectl.node_summary()), kubectl.node_summary()
    deadline = time.monotonic() + 120
    while kubectl.run("get", "pods", "-l", PART_OF, "-o", "name").stdout.strip() and time.monotonic() < deadline:
        time.sleep(2)
    assert not kubectl.run("get", "pods", "-l", PART_OF, "-o", "name").stdout.strip()
    assert "Paused" not in engine.docker("ps", "--filter", "status=paused", "--format", "{{.Status}}").stdout
