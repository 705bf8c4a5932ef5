"""A pod stuck in ImagePullBackOff during a rehearsal is reported with its events, early,
instead of a five-minute timeout alone."""

from pathlib import Path

import pytest

from workshop.cluster import kubectl
from workshop.deck import reader as deck
from workshop.rehearsal.engine import Options, Rehearsal

pytestmark = [pytest.mark.slow, pytest.mark.cluster]
STUCK = Path(__file__).parent / "decks" / "stuck.md"


def test_stuck_pull_is_reported_with_events_long_before_the_timeout(workshop_cluster):
    try:
        (result,) = Rehearsal(deck.read(STUCK), Options()).run()
    finally:
        kubectl.run("delete", "deployment", "workshop-stuck", "--ignore-not-found", "--wait=false")
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
