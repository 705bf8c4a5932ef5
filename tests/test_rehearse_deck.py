"""The real thing: the Docker part of slides.md rehearsed, unchanged, against a real engine."""

import json
import subprocess

import pytest

from conftest import need, run_command
from workshop.deck import reader as deck
from workshop.names import DEBIAN_IMAGE, PYTHON_IMAGE
from workshop.paths import DECK

pytestmark = pytest.mark.slow


def assert_fail_first(steps, names):
    """Each step check ran right before its first box and failed with a hint, and right after its
    last one and passed."""
    lines = [line for step in steps for line in step["checks"] or []]
    for name in names:
        assert any(line.startswith(f"before: FAIL {name}: ") and ". Hint: " in line for line in lines), name
        assert any(line.startswith(f"after: PASS {name}: ") for line in lines), name


def image_present(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


def test_docker_part_of_the_deck_rehearses_for_real(docker, tmp_path):
    for base in (DEBIAN_IMAGE, PYTHON_IMAGE):
        need(image_present(base), f"the base image {base}", "run scripts/prepare")
    # the deck's own images go first, so that every step check can be seen to fail before its box
    subprocess.run(["docker", "image", "rm", "workshop-demo-deb:1.0", "workshop-demo-py:1.0"], capture_output=True)
    report = tmp_path / "rehearsal.json"
    done = run_command("rehearse", "--without", "cluster", "--check-steps", "--json", report, timeout=1800)
    print(done.stdout, done.stderr)  # the per-step lines land in the test log
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    steps = json.loads(report.read_text())["steps"]
    docker_boxes = [b for b in deck.read(DECK).boxes() if "cluster" not in b.directives.needs]
    ran = [s for s in steps if s["verdict"] == "OK"]
    assert sorted(s["id"] for s in ran) == sorted(b.id for b in docker_boxes) and len(docker_boxes) > 5
    assert_fail_first(steps, ("server", "py-image", "container"))  # deb-image and arch: in extras.md
    leftovers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "name=workshop-demo", "--filter", "name=workshop-oom"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert leftovers == []
