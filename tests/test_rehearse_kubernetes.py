"""The Kubernetes part of slides.md rehearsed, unchanged, on a real cluster: a real API server,
scheduler, controllers and kubelet. Also: the self-healing step still passes after a pod and a
worker process are killed behind the deck's back."""
import json
import os
import signal
import subprocess
import sys

import pytest

from test_rehearse_deck import assert_fail_first
from workshop.deck import reader as deck
from workshop.cluster import kubectl
from workshop.paths import DECK, ROOT
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
    report = tmp_path / "rehearsal.json"
    slides = ",".join(str(n) for n in KUBERNETES_SLIDES)
    done = subprocess.run([sys.executable, "-m", "workshop.commands.rehearse", "--slides", slides, "--check-steps",
                           "--json", str(report)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    steps = json.loads(report.read_text())["steps"]
    assert len(steps) >= 20 and all(step["verdict"] in ("OK", "SKIP") for step in steps)
    several = needs.worker_nodes() >= 2            # kind's three nodes; the local node has one
    assert_fail_first(steps, ("deployed", "worker-limits", "service", "self-healed", "scaled", "rolled-out",
                              "rolled-back", "repaired") + (("drained",) if several else ()))
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


def test_self_healing_still_passes_after_a_pod_and_a_worker_process_are_killed(workshop_cluster):
    deploy, heal, clean = (slide_running("kubectl apply -f k8s_demo"), slide_running("kubectl delete $("),
                           slide_running("kubectl delete -f k8s_demo"))
    try:
        assert all(r.ok for r in rehearse(deploy))
        web_pods = kubectl.run("get", "pods", "-l", "app=ok-web", "-o", "name").stdout.split()
        kubectl.run("delete", web_pods[-1], "--grace-period=0", "--force", "--wait=false")
        workers = worker_processes()
        assert workers, "no okpy-mini worker process found on this machine"
        os.kill(workers[0], signal.SIGKILL)
        assert all(r.ok for r in rehearse(heal))
        restarts = kubectl.run("get", "pods", "-l", "app=ok-worker", "-o",
                                      "jsonpath={.items[*].status.containerStatuses[*].restartCount}").stdout
        assert sum(int(n) for n in restarts.split()) >= 1      # the kubelet restarted the killed worker
    finally:
        rehearse(clean)
