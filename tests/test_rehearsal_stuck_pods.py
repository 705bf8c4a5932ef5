"""A pod stuck in ImagePullBackOff during a rehearsal is reported with its events, early,
instead of a five-minute timeout alone; a pod the deck breaks on purpose ('stuck:') is not."""

from pathlib import Path

import pytest

from workshop.cluster import kubectl
from workshop.deck import reader as deck
from workshop.rehearsal import engine
from workshop.rehearsal.engine import Options, Rehearsal

pytestmark = [pytest.mark.slow, pytest.mark.cluster]
STUCK = Path(__file__).parent / "decks" / "stuck.md"
CRASH = Path(__file__).parent / "decks" / "crash.md"


def gone(deployment: str) -> None:
    """Delete the deployment and wait for its pods too: a rehearsal after this test (CI54: the next one)
    looks at every pod of the namespace, and one still being deleted in ErrImagePull stops it."""
    kubectl.run(
        "delete",
        "deployment",
        deployment,
        "--ignore-not-found",
        "--cascade=foreground",
        "--wait=true",
        timeout=180,
        check=False,
    )


def test_stuck_pull_is_reported_with_events_long_before_the_timeout(workshop_cluster):
    try:
        (result,) = Rehearsal(deck.read(STUCK), Options()).run()
    finally:
        gone("workshop-stuck")
    print(result.problem, *result.details, sep="\n")
    assert not result.ok
    assert result.problem == "pods are stuck (see below)"
    assert result.seconds < 120
    assert any(
        ("ImagePullBackOff" in line or "ErrImagePull" in line) and "workshop-stuck-" in line for line in result.details
    )
    assert any(line.startswith("  event: ") and "workshop-no-such-image" in line for line in result.details)
    assert (
        "  fix: the registry localhost:5001 does not hold workshop-no-such-image:v1: run scripts/prepare app-images (it "
        "pushes the lecture's images), or build and push that image" in result.details
    )


def test_a_box_that_waits_on_the_crash_it_teaches_is_not_stopped_early(workshop_cluster, monkeypatch):
    # the box sleeps 25 s while the worker crashes and is restarted; the kubelet shows it waiting
    # in CrashLoopBackOff only now and then, so the rehearsal looks at the pods twice a second,
    # not every 10 s, to be sure to see it; 'stuck:' on the box before says it is on purpose
    monkeypatch.setattr(engine, "CLUSTER_CHECK_EVERY", 0.5)
    try:
        results = Rehearsal(deck.read(CRASH), Options()).run()
    finally:
        gone("ok-worker-typo")
    for result in results:
        print(result.verdict, result.problem, *result.details, result.output[-600:], sep="\n")
    assert [result.verdict for result in results] == ["OK", "OK"]
    assert results[1].seconds >= 25
