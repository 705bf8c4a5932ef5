"""Ctrl-C drills: what the workshop starts is recorded before it exists, so `scripts/cluster down` and
`scripts/reset` after a Ctrl-C in the middle of `cluster up` or `prepare` remove exactly what was made.
Real commands, a real SIGINT to their process group, the real engine and kind."""

import os
import signal
import subprocess
import time
from unittest import mock

import pytest

from workshop import ledger
from workshop.cluster import kind, providers
from workshop.commands import reset
from workshop.deck import docker_commands
from workshop.machine import app_images, docker_engine as engine, installed, processes, registry
from workshop.names import DEBIAN_IMAGE, KIND_LABEL, REDIS_IMAGE
from workshop.paths import ROOT

pytestmark = [pytest.mark.slow]
SCRIPTS = ROOT / "scripts"


def start(*argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(SCRIPTS / argv[0]), *argv[1:]],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def interrupt(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    return output


def names(*filters: str) -> list:
    return (
        engine.output("ps", "-a", *[f for pair in filters for f in ("--filter", pair)], "--format", "{{.Names}}") or ""
    ).split()


@pytest.mark.cluster_alone(renews=True)
@pytest.mark.cluster
def test_ctrl_c_during_kind_create_then_down_leaves_no_node(workshop_cluster):
    providers.down(say=lambda _: None)
    try:
        kind.node_image(lambda _: None)  # built before, so the drill stops kind itself
        process = start("cluster", "up")
        assert process.stdout is not None
        seen = ""
        while "creating kind cluster" not in seen:
            line = process.stdout.readline()
            assert line, f"cluster up ended before creating the cluster: {seen}"
            seen += line
        deadline = time.monotonic() + 60
        while not names(f"label={KIND_LABEL}={kind.NAME}") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert names(f"label={KIND_LABEL}={kind.NAME}"), "kind made no node container to be stopped during"
        interrupt(process)
        network_ours = ledger.find("network", "kind") is not None
        done = subprocess.run([str(SCRIPTS / "cluster"), "down"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert names(f"label={KIND_LABEL}={kind.NAME}") == []
        if network_ours:  # the network it brought goes too
            assert engine.output("network", "inspect", "kind") is None, done.stdout
        assert not providers.choice_file().exists() and not kind.exists()
    finally:
        if not kind.exists():
            providers.up("kind", say=lambda _: None)


@pytest.mark.cluster_alone
@pytest.mark.cluster
def test_ctrl_c_during_the_registry_start_then_reset_leaves_no_registry(workshop_cluster):
    need_ours = registry.ours()
    assert need_ours, "the registry that answers is not the workshop's: this drill would stop someone else's"
    registry.down()
    try:
        process = start("prepare", "registry")
        deadline = time.monotonic() + 120
        while not names(f"name=^{registry.CONTAINER}$") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert names(f"name=^{registry.CONTAINER}$"), "prepare never started the registry container"
        interrupt(process)
        done = subprocess.run(
            [str(SCRIPTS / "reset"), "--all", "--only", f"{registry.ADDRESS}*"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert names(f"name=^{registry.CONTAINER}$") == [], done.stdout
    finally:
        subprocess.run(
            [str(SCRIPTS / "prepare"), "registry", "app-images", "deck-images"],
            cwd=ROOT,
            capture_output=True,
            timeout=600,
        )
    assert registry.ours()


def app_images_here() -> list:
    return sorted(set((engine.output("images", app_images.APP, "--format", "{{.Repository}}:{{.Tag}}") or "").split()))


@pytest.fixture
def app_images_made_again():
    """After the drill, and after its private state is gone, the checkout's own prepare builds and records
    the app images again (the drill removed them)."""
    yield
    subprocess.run(
        [str(SCRIPTS / "prepare"), "registry", "app-images", "deck-images"], cwd=ROOT, capture_output=True, timeout=900
    )


@pytest.mark.cluster_alone
def test_ctrl_c_during_the_app_image_builds_then_reset_leaves_no_app_image(
    docker, app_images_made_again, private_state
):
    """Ctrl-C while prepare builds okpy-mini, and again in the gap a build's end and its record leave
    (the build done by hand after the intent is recorded): reset removes each image made, by the id
    the build itself wrote, and a user's image of another name built from the same folder stays.
    prepare and reset run on a private copy of the record, which the drill writes to."""
    decoy = "my-own-okpy:kept"
    engine.docker("build", "-q", "-t", decoy, str(app_images.K8S_DEMO))
    try:
        subprocess.run(
            [str(SCRIPTS / "reset"), "--only", f"{app_images.APP}*"], cwd=ROOT, capture_output=True, timeout=300
        )
        assert app_images_here() == []
        process = start("prepare", "app-images")
        assert process.stdout is not None
        seen = ""
        while "making " + app_images.APP not in seen:
            line = process.stdout.readline()
            assert line, f"prepare ended before building: {seen}"
            seen += line
        time.sleep(1.5)
        interrupt(process)
        image = f"{app_images.APP}:v1"  # the window after a build, before its record
        iid = ledger.before_build(image, "app")
        engine.docker("build", "-q", "--iidfile", str(iid), "-t", image, str(app_images.K8S_DEMO))
        assert image in app_images_here()
        done = subprocess.run(
            [str(SCRIPTS / "reset"), "--only", f"{app_images.APP}*"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert app_images_here() == [], done.stdout
        assert engine.image_id(decoy), "reset removed the user's own image"
    finally:
        engine.docker("rmi", decoy, check=False)


def python(code: str, **env: str) -> subprocess.Popen:
    """A workshop step run the way prepare runs it, in its own process group, to be interrupted."""
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/python"), "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, **env},
    )


def child_running(process: subprocess.Popen, *words: str, seconds: float = 120) -> bool:
    """Wait until a process of process's group has all these words in its command line."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        for pid in processes.in_session(process.pid):
            line = " ".join(processes.command_line(pid))
            if all(word in line for word in words):
                return True
        time.sleep(0.01)
    return False


@pytest.mark.cluster_alone
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 1.0])
def test_ctrl_c_during_a_base_image_pull_leaves_the_image_recorded_or_absent(docker, delay, private_state):
    """A pull has no --iidfile: whatever moment Ctrl-C lands, the image the pull brought is on record
    by id (and reset --all removes it) or was never made. The same content under the user's own tag stays.
    The record written is the test's private copy."""
    source = f"{registry.ADDRESS}/workshop-drill-base:1"
    decoy = "my-own-drill-base:kept"
    engine.docker("tag", REDIS_IMAGE, decoy)
    engine.docker("tag", decoy, source)
    engine.docker("push", "-q", source)
    engine.docker("rmi", source)
    try:
        process = python(
            f"from provision.standins import base_images as b; print(b.ensure_base_images(images=['{source}']))"
        )
        if child_running(process, "pull", source):
            time.sleep(delay)
            output = interrupt(process)
        else:  # the layers were already here from an earlier run: the pull was over at once
            output, _ = process.communicate(timeout=60)
            assert process.returncode == 0, output
        here = engine.image_id(source)
        entry = ledger.find("image", source)
        if here:
            assert entry and entry.get("id") == here, (delay, entry, output)
        else:
            assert entry is None, (delay, entry, output)
        done = subprocess.run(
            [str(SCRIPTS / "reset"), "--all", "--only", source], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert engine.image_id(source) is None, done.stdout
        assert engine.image_id(decoy), "reset removed the user's own tag of the same image"
    finally:
        engine.docker("rmi", source, check=False)
        engine.docker("rmi", decoy, check=False)


@pytest.mark.cluster_alone
def test_ctrl_c_during_a_standin_build_then_reset_all_leaves_no_standin(docker):
    """Ctrl-C while prepare rebuilds the Redis stand-in: reset --all removes what was built, by the id the
    build wrote; the user's image built FROM the stand-in (it inherits the stand-in's label) stays."""
    decoy = "my-own-redis:kept"
    subprocess.run(
        [engine.client() or "docker", "build", "-q", "-t", decoy, "-"],
        check=True,
        capture_output=True,
        text=True,
        input=f"FROM {REDIS_IMAGE}\nLABEL mine=yes\n",
        timeout=300,
    )
    try:
        process = python(
            "from provision.standins import base_images as b; print(b.ensure_base_images(images=[b.REDIS]))",
            CI="true",
            WORKSHOP_REBUILD_STANDINS="1",
        )
        assert child_running(process, "build", "--iidfile"), "prepare never started the stand-in build"
        time.sleep(1.0)
        interrupt(process)
        done = subprocess.run(
            [str(SCRIPTS / "reset"), "--all", "--only", "redis:*"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert engine.image_id(REDIS_IMAGE) is None, done.stdout
        assert engine.image_id(decoy), "reset removed the user's image built on the stand-in"
    finally:
        engine.docker("rmi", decoy, check=False)
        subprocess.run(
            [str(SCRIPTS / "prepare"), "images", "registry", "app-images"],
            cwd=ROOT,
            capture_output=True,
            timeout=900,
            env={**os.environ, "CI": "true"},
        )
    assert engine.image_id(REDIS_IMAGE)


@pytest.mark.cluster_alone
def test_ctrl_c_during_the_deck_image_builds_then_reset_leaves_none(docker):
    """Ctrl-C while prepare runs the deck's own build commands: reset (without --all) removes every image
    and registry push those commands name; a user's image whose name only starts the same way stays."""
    decoy = "workshop-demo-mine:1.0"
    engine.docker("tag", DEBIAN_IMAGE, decoy)
    declared = docker_commands.declared()
    try:
        for delay in (0.5, 3.0):
            process = start("prepare", "deck-images")
            assert child_running(process, "docker", "build"), "prepare never started a deck build"
            time.sleep(delay)
            interrupt(process)
            done = subprocess.run([str(SCRIPTS / "reset")], cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout + done.stderr
            assert [ref for ref in declared.images if engine.image_id(ref)] == [], done.stdout
            assert [ref for ref in declared.pushes if registry.digest(*reset._split(ref))] == [], done.stdout
            assert engine.image_id(decoy), "reset removed an image of the user's named like the deck's"
    finally:
        engine.docker("rmi", decoy, check=False)
        subprocess.run([str(SCRIPTS / "prepare"), "deck-images"], cwd=ROOT, capture_output=True, timeout=900)


@pytest.mark.engine_restart
@pytest.mark.parametrize("delay", [0.0, 0.3, 2.0])
def test_ctrl_c_while_prepare_starts_dockerd_then_reset_all_stops_it(docker, delay):
    """Ctrl-C while prepare starts the workshop's own dockerd (in its own session, so it outlives the
    interrupt): whatever the moment, a dockerd left running is on record as the workshop's, and
    reset --all stops it. Run last (conftest), as it stops the engine every other test uses."""
    from conftest import need

    need(
        installed.recorded() is not None,
        "an engine the workshop started itself",
        "run on a Linux machine as root where scripts/prepare started dockerd (CI)",
    )
    stop = [str(SCRIPTS / "reset"), "--all", "--only", "dockerd*"]
    try:
        done = subprocess.run(stop, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "removed engine dockerd" in done.stdout, done.stdout + done.stderr
        assert processes.named("dockerd") == [], "reset --all left the workshop's dockerd running"
        process = start("prepare", "engine")
        deadline = time.monotonic() + 300
        while not processes.named("dockerd") and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        assert processes.named("dockerd"), "prepare never started dockerd"
        time.sleep(delay)
        output = interrupt(process)
        running = processes.named("dockerd")
        ours = installed.recorded()
        assert running == ([ours["pid"]] if ours else []), (running, ours, output)
        done = subprocess.run(stop, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert processes.named("dockerd") == [], done.stdout
    finally:
        subprocess.run([str(SCRIPTS / "prepare"), "engine"], cwd=ROOT, capture_output=True, timeout=600)
    assert engine.server_version(timeout=30)


@pytest.mark.bare
def test_a_ctrl_c_while_a_daemon_starts_waits_for_its_pid_file(tmp_path):
    """processes.start holds Ctrl-C until the pid file names the daemon, and the daemon itself starts
    with no signal blocked (a mask would be inherited, and `stop`'s SIGTERM would not reach it)."""
    pid_file = tmp_path / "sleeper.pid"
    real_popen = subprocess.Popen

    def popen_then_ctrl_c(*args, **kwargs):  # the interrupt lands between the start and the record
        started = real_popen(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return started

    with mock.patch.object(subprocess, "Popen", popen_then_ctrl_c), pytest.raises(KeyboardInterrupt):
        processes.start(["sleep", "60"], tmp_path / "sleeper.log", pid_file)
    pid = processes.recorded(pid_file)
    assert pid, "the interrupt came before the pid file: the daemon runs unknown"
    blocked = next(line for line in open(f"/proc/{pid}/status") if line.startswith("SigBlk:"))
    assert int(blocked.split()[1], 16) == 0, blocked
    assert processes.stop_recorded(pid_file, timeout=5) and not processes.alive(pid)
