"""A rehearsal removes the containers its own boxes named, and nothing else."""

import subprocess
import threading
from pathlib import Path

import pytest

from conftest import need
from workshop.deck import reader as deck
from workshop.names import DEBIAN_IMAGE
from workshop.rehearsal.engine import Options, Rehearsal

pytestmark = pytest.mark.slow
LEFTOVER = Path(__file__).parent / "decks" / "leftover.md"
OURS = "workshop-selftest-leftover"
BEFORE = "workshop-selftest-before"  # a container that existed before the rehearsal
MEANWHILE = "workshop-selftest-meanwhile"  # one someone else creates while it runs


def exists(name: str) -> bool:
    return subprocess.run(["docker", "container", "inspect", name], capture_output=True).returncode == 0


def test_only_the_containers_the_deck_named_are_removed(docker):
    need(
        subprocess.run(["docker", "image", "inspect", DEBIAN_IMAGE], capture_output=True).returncode == 0,
        f"the base image {DEBIAN_IMAGE}",
        "run scripts/prepare",
    )
    for name in (OURS, BEFORE, MEANWHILE):
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    subprocess.run(["docker", "create", "--name", BEFORE, DEBIAN_IMAGE, "true"], check=True, capture_output=True)
    someone_else = threading.Timer(
        1.0,
        subprocess.run,
        [["docker", "create", "--label", "edu.cs198.workshop=x", "--name", MEANWHILE, DEBIAN_IMAGE, "true"]],
        {"capture_output": True},
    )
    try:
        someone_else.start()
        results = Rehearsal(deck.read(LEFTOVER), Options()).run()
        someone_else.join()
        assert [r.ok for r in results] == [True], results[0].problem
        assert not exists(OURS)
        assert exists(BEFORE) and exists(MEANWHILE)
    finally:
        someone_else.cancel()
        for name in (OURS, BEFORE, MEANWHILE):
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
