"""Shared fixtures. Tests that need a real engine skip with a reason on a laptop without one,
but fail in CI (CI=true), where prepare has started everything they need."""

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, NamedTuple

import pytest

from workshop import ledger, paths
from workshop.paths import ROOT

IN_CI = os.environ.get("CI") == "true"

# The one list of tests allowed to skip under CI=true, each with its reason. Any other skip in CI
# is turned into a failure (see pytest_runtest_makereport below): a green run can't hide a test that
# never ran. Keep it short.
ALLOWED_SKIPS: dict[str, str] = {
    # e.g. "tests/test_x.py::test_y": "needs an arm64 machine, which CI does not have",
}


def need(ok: bool, what: str, fix: str) -> None:
    """Skip (or, in CI, fail) a test whose real dependency is missing."""
    if ok:
        return
    message = f"{what} is not available: {fix}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def run_command(
    name: str,
    *args: object,
    timeout: float,
    env: Mapping[str, str] | None = None,
    base: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """A workshop command as scripts/NAME runs it (python -m workshop.commands.NAME from the checkout),
    its output captured. env: variables set over base, which is this process's environment unless given."""
    return subprocess.run(
        [sys.executable, "-m", f"workshop.commands.{name}", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**(os.environ if base is None else base), **(env or {}), "PYTHONPATH": str(ROOT)},
    )


def get_when_listening(url: str, seconds: float) -> str:
    """GET url, retrying while nothing listens yet (a server prints its ready line just before it binds)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


@pytest.fixture(autouse=True)
def the_scaling_slides_file_as_it_was(request):
    """A test that runs the scaling slide's box (it edits k8s_demo/ok-worker.yaml) but not the recap's
    (which sets it back) leaves the file as the presenter would: it is put back after each test. Only the
    machine lane's tests run the deck's boxes; a test of another lane, ending while the machine lane is
    between that box and the apply after it, would otherwise undo the edit under it (CI51: the deploy
    applied 1 replica, not 3). Those lanes read the file through support.checkout.as_committed."""
    if lane_of(request.node) != "machine":
        yield
        return
    path = ROOT / "k8s_demo" / "ok-worker.yaml"
    before = path.read_bytes()
    yield
    if path.read_bytes() != before:
        path.write_bytes(before)


# The checkout's state files a private state copies: the record, and how to reach the engine, the
# registry and the cluster that prepare and `cluster up` made (what commands need to see the same machine)
REACH = (
    ledger.FILE,
    "engine-endpoint",
    "cluster.json",
    "kubeconfig",
    "kubeconfig.fenced",
    "registry.yml",
    "registry.pid",
)


class PrivateState(NamedTuple):
    path: Path
    checkout_env: dict[str, str]  # the environment of a command that is to use the checkout's own state


@pytest.fixture
def private_state(tmp_path, monkeypatch):
    """A state folder of the test's own, for a test that records or forgets things itself: it starts as a
    copy of the checkout's record and of the files that say how to reach the engine, registry and cluster,
    and what the test writes stays in it. In-process and in commands, WORKSHOP_STATE names it (the workshop reads
    it when it needs a path, never at import). Afterwards the checkout's own record must be as it was."""
    real = paths.state()
    state = tmp_path / "state"
    state.mkdir()
    for name in REACH:
        if (real / name).is_file():
            shutil.copy2(real / name, state / name)
    record = real / ledger.FILE
    before = record.read_bytes() if record.exists() else None
    checkout_env = {**os.environ}
    monkeypatch.setenv("WORKSHOP_STATE", str(state))
    yield PrivateState(state, checkout_env)
    after = record.read_bytes() if record.exists() else None
    assert after == before, f"the test wrote the checkout's own record ({record}); it is to write only {state}"


@pytest.fixture(scope="session")
def docker():
    """A Docker engine that answers."""
    need(docker_answers(), "a Docker engine", "run scripts/prepare (or start Docker Desktop)")
    return shutil.which("docker")


@pytest.fixture(scope="session")
def workshop_cluster(request):
    """A workshop cluster that answers. In CI, when none is up, the kind cluster is brought up for the
    test session and removed at its end (by the lane that is not the class lane, once the class lane has
    ended; the class lane alone leaves it up); elsewhere the test skips."""
    from workshop.cluster import kubectl, providers

    with _lock(CLUSTER_UP_LOCK, fcntl.LOCK_EX):  # one lane brings it up; another waits, then finds it
        if IN_CI and not kubectl.cluster_ready():
            from provision import node_image  # the basement builds kind's node image where it cannot be pulled

            node_image.ensure(print)
            providers.up(say=print)
            CLUSTER_STARTED.write_text("the test session brought the workshop cluster up\n")
    need(kubectl.cluster_ready(), "a workshop cluster", "run scripts/cluster up")
    yield
    if request.config.getoption("--lane") != "class" and CLUSTER_STARTED.exists():
        wait_for_the_class_lane()  # it may still be on the cluster
        providers.down(say=lambda _: None)
        CLUSTER_STARTED.unlink()


# Three lanes that can run side by side (scripts/test runs them so). "bare" tests need nothing prepare or
# `cluster up` makes (no engine, registry, cluster, deck box, built program or fixed port), so they run
# beside anything, even while prepare swaps engines. "class" tests are the class's own (student namespaces,
# the class door, the second laptop): they share the cluster with the machine lane but none of its objects.
# "machine" tests are the others, one at a time; those marked cluster_alone (they take down the cluster, a
# node, the registry or the images the class stands on) and engine_restart run last, once the class lane
# has ended: the class lane holds CLASS_LANE_LOCK shared for its whole session, they wait to hold it alone.
LANES = ("all", "bare", "class", "machine")
MACHINE_FIXTURES = {"docker", "workshop_cluster"}
MACHINE_MARKERS = ("machine", "slow", "cluster", "engine_restart")
LAST = ("cluster_alone", "engine_restart")  # in this order, after every other test of the machine lane
LOCKS = Path(os.environ.get("WORKSHOP_TEST_LOCKS") or ROOT / ".workshop" / "locks")  # tests of the lanes use their own
CLASS_LANE_LOCK = LOCKS / "class-lane.lock"
CLUSTER_UP_LOCK = LOCKS / "cluster-up.lock"
CLUSTER_STARTED = LOCKS / "cluster-started-by-tests"


def pytest_addoption(parser):
    parser.addoption(
        "--lane",
        choices=LANES,
        default="all",
        help="bare: only the tests that need no engine, registry, cluster or deck box; class: the class's own "
        "tests; machine: the others; all (the default): every test, in one process",
    )


def lane_of(item: pytest.Item) -> str:
    """A test marked classroom or beside is the class lane's. Otherwise it is the machine lane's when it uses the engine
    or cluster fixtures or is marked machine, slow, cluster or engine_restart, unless it is marked bare (a
    slow test that needs none of those); every other test is the bare lane's."""
    if item.get_closest_marker("classroom") or item.get_closest_marker("beside"):
        return "class"
    if item.get_closest_marker("bare"):
        return "bare"
    if MACHINE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return "machine"
    return "machine" if any(item.get_closest_marker(name) for name in MACHINE_MARKERS) else "bare"


def _lock(path: Path, how: int) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "w")
    fcntl.flock(handle, how)
    return handle


def pytest_configure(config):
    # A lane a script starts in the background inherits Ctrl-C ignored (bash does that to background jobs);
    # the tests, and the programs they start, expect it to interrupt as usual.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if config.getoption("--lane") == "class":  # released when this process ends, however it ends
        config.class_lane_lock = _lock(CLASS_LANE_LOCK, fcntl.LOCK_SH)


def wait_for_the_class_lane() -> None:
    """Until no class lane runs (at once when none does)."""
    _lock(CLASS_LANE_LOCK, fcntl.LOCK_EX).close()


@pytest.fixture(autouse=True)
def _after_the_class_lane(request):
    """A test that would pull the cluster, a node, the registry or the engine from under the class lane
    waits for that lane to end (the machine lane runs these last). In CI, the engine_restart tests, the very
    last, first take the cluster down: each stop and start of the engine would stop and restart its nodes,
    and nothing after them uses it."""
    if any(request.node.get_closest_marker(name) for name in LAST):
        wait_for_the_class_lane()
    if IN_CI and request.node.get_closest_marker("engine_restart"):
        from workshop.cluster import providers

        providers.down(say=lambda _: None)


def pytest_collection_modifyitems(config, items):
    """Only the chosen lane's tests; cluster_alone, then engine_restart tests run last."""
    lane = config.getoption("--lane")
    if lane != "all":
        kept: list[pytest.Item] = []
        others: list[pytest.Item] = []
        for item in items:
            (kept if lane_of(item) == lane else others).append(item)
        if others:
            config.hook.pytest_deselected(items=others)
            items[:] = kept
    items.sort(key=lambda item: ([item.get_closest_marker(name) is not None for name in reversed(LAST)], renews(item)))


def renews(item: pytest.Item) -> bool:
    """cluster_alone(renews=True): the test ends with a new cluster, so it runs after the other cluster_alone
    tests: the cluster that the engine restarts meet last was made there, not paused by a drill."""
    marker = item.get_closest_marker("cluster_alone")
    return bool(marker and marker.kwargs.get("renews"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true, a skip that is not on ALLOWED_SKIPS fails the test, with the skip's reason."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail") and item.nodeid not in ALLOWED_SKIPS:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, and not on ALLOWED_SKIPS in tests/conftest.py: {reason}"
