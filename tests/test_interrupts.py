"""Ctrl-C drills: what the workshop starts is recorded before it exists, so `scripts/cluster down` and
`scripts/reset` after a Ctrl-C in the middle of `cluster up` or `prepare` remove exactly what was made.
Real commands, a real SIGINT to their process group, the real engine and kind."""
import os
import signal
import subprocess
import time

import pytest

from workshop import ledger
from workshop.cluster import kind, providers
from workshop.machine import app_images, engine, registry
from workshop.names import KIND_LABEL
from workshop.paths import ROOT

pytestmark = [pytest.mark.slow]
SCRIPTS = ROOT / "scripts"


def start(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([str(SCRIPTS / argv[0]), *argv[1:]], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def interrupt(process: subprocess.Popen) -> str:
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    return output


def names(*filters: str) -> list:
    return (engine.output("ps", "-a", *[f for pair in filters for f in ("--filter", pair)],
                          "--format", "{{.Names}}") or "").split()


@pytest.mark.cluster
def test_ctrl_c_during_kind_create_then_down_leaves_no_node(workshop_cluster):
    providers.down(say=lambda _: None, keep_image=True)
    try:
        kind.node_image(lambda _: None)                       # built before, so the drill stops kind itself
        process = start("cluster", "up")
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
        done = subprocess.run([str(SCRIPTS / "cluster"), "down"], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert names(f"label={KIND_LABEL}={kind.NAME}") == []
        if network_ours:                                      # the network it brought goes too
            assert engine.output("network", "inspect", "kind") is None, done.stdout
        assert not providers.CHOICE.exists() and not kind.exists()
    finally:
        if not kind.exists():
            providers.up("kind", say=lambda _: None)


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
        done = subprocess.run([str(SCRIPTS / "reset"), "--all", "--only", f"{registry.ADDRESS}*"], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert names(f"name=^{registry.CONTAINER}$") == [], done.stdout
    finally:
        subprocess.run([str(SCRIPTS / "prepare"), "registry", "app-images", "deck-images"], cwd=ROOT, capture_output=True,
                       timeout=600)
    assert registry.ours()


def app_images_here() -> list:
    return sorted(set((engine.output("images", app_images.APP, "--format", "{{.Repository}}:{{.Tag}}") or "")
                      .split()))


def test_ctrl_c_during_the_app_image_builds_then_reset_leaves_no_app_image(docker):
    """Ctrl-C while prepare builds okpy-mini, and again in the gap a build's end and its record leave
    (the build done by hand after the intent is recorded): reset removes each image made, by the id
    the build itself wrote, and a user's image of another name built from the same folder stays."""
    decoy = "my-own-okpy:kept"
    engine.docker("build", "-q", "-t", decoy, str(app_images.K8S_DEMO))
    try:
        subprocess.run([str(SCRIPTS / "reset"), "--only", f"{app_images.APP}*"], cwd=ROOT, capture_output=True,
                       timeout=300)
        assert app_images_here() == []
        process = start("prepare", "app-images")
        seen = ""
        while "making " + app_images.APP not in seen:
            line = process.stdout.readline()
            assert line, f"prepare ended before building: {seen}"
            seen += line
        time.sleep(1.5)
        interrupt(process)
        image = f"{app_images.APP}:v1"                         # the window after a build, before its record
        iid = ledger.before_build(image, "app")
        engine.docker("build", "-q", "--iidfile", str(iid), "-t", image, str(app_images.K8S_DEMO))
        assert image in app_images_here()
        done = subprocess.run([str(SCRIPTS / "reset"), "--only", f"{app_images.APP}*"], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert app_images_here() == [], done.stdout
        assert engine.image_id(decoy), "reset removed the user's own image"
    finally:
        engine.docker("rmi", decoy, check=False)
        subprocess.run([str(SCRIPTS / "prepare"), "registry", "app-images", "deck-images"], cwd=ROOT, capture_output=True,
                       timeout=900)
