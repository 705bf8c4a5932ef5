"""Shared fixtures. Tests that need a real engine skip with a reason on a laptop without one,
but fail in CI (CI=true), where prepare has started everything they need."""
import os
import shutil
import subprocess

import pytest

IN_CI = os.environ.get("CI") == "true"


def need(ok: bool, what: str, fix: str) -> None:
    """Skip (or, in CI, fail) a test whose real dependency is missing."""
    if ok:
        return
    message = f"{what} is not available: {fix}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


@pytest.fixture(scope="session")
def docker():
    """A Docker engine that answers."""
    need(docker_answers(), "a Docker engine", "run scripts/prepare (or start Docker Desktop)")
    return shutil.which("docker")
