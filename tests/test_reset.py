"""scripts/reset removes the lecture's things and nothing else: real containers, images, registry
tags and (when a cluster is up) Kubernetes objects, next to decoys that must survive.

Other people may be running the deck on this machine, so the removing runs are limited with
--only to what these tests made (their names all contain `resettest`); a full --dry-run shows
the real selection without changing anything."""
import io
import os
import subprocess
import sys
import tarfile
import time

import pytest

from conftest import docker_answers
from workshop.machine import registry
from workshop.commands import reset
from workshop.paths import ROOT

ONLY = "*resettest*"
OURS_CONTAINERS = ["workshop-resettest", "resettest-labelled"]
DECOY_CONTAINERS = ["decoy-keepme-resettest", "myapp-workshop-resettest", "decoy-standin-base-resettest"]
OURS_IMAGES = ["workshop-demo-resettest:1", "resettest-labelled:1", "localhost:5001/okpy-mini:resettest"]
DECOY_IMAGES = ["decoy-keepme-resettest:1", "decoy-standin-resettest:1"]


def run_reset(*args):
    return subprocess.run([sys.executable, "-m", "workshop.commands.reset", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def sh(*args, check=True, **kwargs):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=check, **kwargs)


def empty_image(ref, label=None):
    """An image with one empty layer and no label but the one given (no base image needed)."""
    buffer = io.BytesIO()
    tarfile.open(fileobj=buffer, mode="w").close()
    changes = ["--change", 'CMD ["/bin/true"]'] + (["--change", f"LABEL edu.cs198.workshop={label}"] if label else [])
    sh("docker", "import", *changes, "-", ref, input=buffer.getvalue().decode("latin-1"))


def exists(kind, name):
    return sh("docker", kind, "inspect", name, check=False).returncode == 0


def remove_all():
    sh("docker", "rm", "-f", *OURS_CONTAINERS, *DECOY_CONTAINERS, check=False)
    sh("docker", "rmi", *OURS_IMAGES, *DECOY_IMAGES, check=False)


# ---------------------------------------------------------------- the rules, on their own

@pytest.mark.parametrize("name, labels, ours", [
    ("workshop-demo", {}, True),
    ("workshop-oom", {"edu.cs198.workshop": "standin"}, True),        # the name alone is enough
    ("mine", {"edu.cs198.workshop": "docker-demo"}, True),            # run from one of our images
    ("myapp-workshop", {}, False),
    ("decoy-keepme", {"edu.cs198.workshop": "standin"}, False),       # merely started from a stand-in base
    ("workshop-registry", {}, False),                                  # only --all, through registry.down()
    ("workshop-control-plane", {"io.x-k8s.kind.cluster": "workshop"}, False),   # kind's node
])
def test_which_containers_are_the_lectures(name, labels, ours):
    assert reset.container_is_ours(name, labels) is ours


@pytest.mark.parametrize("ref, labels, everything, ours", [
    ("workshop-demo-py:1.0", {}, False, True),
    ("localhost:5001/okpy-mini:v2", {}, False, True),
    ("someone:1", {"edu.cs198.workshop": "docker-demo"}, False, True),
    ("python:3.12-slim", {"edu.cs198.workshop": "standin"}, False, False),
    ("python:3.12-slim", {"edu.cs198.workshop": "standin"}, True, True),
    ("python:3.12-slim", {}, True, False),                              # the real image is never ours
    ("decoy-keepme:1", {}, False, False),
    ("localhost:5001/redis:7.0.15-bookworm", {"edu.cs198.workshop": "standin"}, False, False),
])
def test_which_images_are_the_lectures(ref, labels, everything, ours):
    assert reset.image_is_ours(ref, labels, everything) is ours


def test_registry_tags_the_manifests_use_stay_unless_all():
    kept = ["localhost:5001/okpy-mini:v1"]
    assert not reset.registry_tag_is_ours("v1", kept)
    assert reset.registry_tag_is_ours("v2", kept)
    assert reset.registry_tag_is_ours("v1", kept, everything=True)


# ---------------------------------------------------------------- for real

@pytest.fixture
def planted(docker):
    """Our things and decoys, made for this test only; whatever is left is removed afterwards."""
    remove_all()
    registry_up = registry.status()
    try:
        empty_image("workshop-demo-resettest:1", "docker-demo")
        empty_image("resettest-labelled:1", "docker-demo")
        empty_image("decoy-keepme-resettest:1")
        empty_image("decoy-standin-resettest:1", "standin")
        sh("docker", "create", "--name", "workshop-resettest", "decoy-keepme-resettest:1")
        sh("docker", "create", "--name", "resettest-labelled", "--label", "edu.cs198.workshop=test",
           "decoy-keepme-resettest:1")
        sh("docker", "create", "--name", "decoy-keepme-resettest", "decoy-keepme-resettest:1")
        sh("docker", "create", "--name", "myapp-workshop-resettest", "decoy-keepme-resettest:1")
        sh("docker", "create", "--name", "decoy-standin-base-resettest", "decoy-standin-resettest:1")
        if registry_up:
            empty_image("localhost:5001/okpy-mini:resettest", "k8s-demo")
            sh("docker", "push", "localhost:5001/okpy-mini:resettest")
        yield registry_up
    finally:
        remove_all()


def registry_tags():
    done = sh("curl", "-s", "--noproxy", "*", "http://127.0.0.1:5001/v2/okpy-mini/tags/list", check=False)
    return done.stdout


@pytest.mark.slow
def test_reset_removes_ours_and_leaves_the_decoys(planted):
    registry_up = planted
    ours_images = OURS_IMAGES if registry_up else OURS_IMAGES[:2]

    listed = run_reset("--dry-run")                       # the real selection, over everything here
    assert listed.returncode == 0, listed.stderr
    for name in OURS_CONTAINERS:
        assert f"would remove container {name}\n" in listed.stdout
    for ref in ours_images:
        assert f"would remove image {ref}\n" in listed.stdout
    if registry_up:
        assert "would remove registry tag localhost:5001/okpy-mini:resettest\n" in listed.stdout
        assert "registry tag localhost:5001/okpy-mini:v1\n" not in listed.stdout    # the manifests use it
    for name in DECOY_CONTAINERS + DECOY_IMAGES:
        assert name not in listed.stdout
    assert "nothing was changed" in listed.stdout.splitlines()[-1]
    assert all(exists("container", name) for name in OURS_CONTAINERS)

    began = time.monotonic()
    done = run_reset("--only", ONLY)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in OURS_CONTAINERS:
        assert f"removed container {name}\n" in done.stdout
        assert not exists("container", name)
    for ref in ours_images:
        assert f"removed image {ref}\n" in done.stdout
        assert not exists("image", ref)
    for name in DECOY_CONTAINERS:
        assert exists("container", name), name
    for ref in DECOY_IMAGES:
        assert exists("image", ref), ref
    if registry_up:
        assert "removed registry tag localhost:5001/okpy-mini:resettest\n" in done.stdout
        assert '"resettest"' not in registry_tags()
    assert done.stdout.splitlines()[-1].startswith("reset: removed 2 containers, ")
    assert time.monotonic() - began < 60

    again = run_reset("--only", ONLY)
    assert again.returncode == 0 and again.stdout == "nothing to reset\n" and again.stderr == ""


def test_nothing_to_reset_says_so(docker):
    done = run_reset("--only", "no-such-thing-resettest-*")
    assert (done.returncode, done.stdout, done.stderr) == (0, "nothing to reset\n", "")


def test_dry_run_with_all_lists_the_stand_ins_and_changes_nothing(docker):
    before = sorted(sh("docker", "images", "-q").stdout.split())
    done = run_reset("--dry-run", "--all")
    assert done.returncode == 0, done.stderr
    assert sorted(sh("docker", "images", "-q").stdout.split()) == before   # same images; order may tie
    last = done.stdout.splitlines()[-1]
    assert last.endswith("nothing was changed (--dry-run)") or last == "nothing to reset"


@pytest.mark.cluster
def test_kubernetes_objects_with_the_label_are_deleted(workshop_cluster):
    from workshop.cluster import kubectl
    labelled = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: resettest-svc\n  labels:\n"
                "    app.kubernetes.io/part-of: cs198-workshop\nspec:\n  selector: {app: resettest}\n"
                "  ports: [{port: 80}]\n")
    decoy = labelled.replace("resettest-svc", "resettest-decoy-svc").replace("cs198-workshop", "someone-else")
    kubectl.run("apply", "-f", "-", stdin=labelled + "---\n" + decoy)
    try:
        done = run_reset("--only", "*/resettest*")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "removed service default/resettest-svc\n" in done.stdout
        assert kubectl.run("get", "service", "resettest-svc", check=False).returncode != 0
        assert kubectl.run("get", "service", "resettest-decoy-svc", check=False).returncode == 0
    finally:
        kubectl.run("delete", "service", "resettest-svc", "resettest-decoy-svc", "--ignore-not-found")
