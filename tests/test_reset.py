"""scripts/reset removes what the workshop recorded making, and the names the deck declares, and
nothing else: real containers, images, registry tags and Kubernetes objects, next to decoys of
the user's own that carry our name prefix, our labels (inherited from a stand-in base), a tag in
our registry, or our label in another namespace.

Other people may be running the deck on this machine, so the removing runs are limited with
--only to what these tests made (their names all contain `resettest`); the dry runs show the
real selection without changing anything."""

import io
import json
import subprocess
import tarfile

import pytest

from conftest import need, run_command
from workshop import ledger, names
from workshop.cluster import kubectl
from workshop.deck import docker_commands
from workshop.machine import registry
from workshop.names import DEBIAN_IMAGE

ONLY = "*resettest*"
OURS_IMAGE = "resettest-app:1"  # recorded as made by the workshop
STALE_IMAGE = "resettest-rebuilt:1"  # recorded, but the tag now names another image
OURS_TAG = f"{registry.ADDRESS}/okpy-mini:resettest"  # a push the workshop recorded
DECOY_TAG = f"{registry.ADDRESS}/resettest-mine:1"  # the user's own push into the same registry
DECOY_CONTAINERS = ["workshop-resettest", "resettest-from-standin"]
DECOY_IMAGES = ["resettest-built-from-standin:1", "workshop-demo-resettest:1", STALE_IMAGE]


def run_reset(*args, state=None):
    return run_command("reset", *args, timeout=300, env={"WORKSHOP_STATE": str(state)} if state else None)


def sh(*args, check=True, **kwargs):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=check, **kwargs)


def empty_image(ref, label=None):
    """An image with one empty layer and no label but the one given (no base image needed)."""
    buffer = io.BytesIO()
    tarfile.open(fileobj=buffer, mode="w").close()
    changes = ["--change", 'CMD ["/bin/true"]'] + (["--change", f"LABEL edu.cs198.workshop={label}"] if label else [])
    sh("docker", "import", *changes, "-", ref, input=buffer.getvalue().decode("latin-1"))


def image_id(ref):
    return sh("docker", "image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def exists(kind, name):
    return sh("docker", kind, "inspect", name, check=False).returncode == 0


def remove_all():
    sh("docker", "rm", "-f", *DECOY_CONTAINERS, check=False)
    sh("docker", "rmi", OURS_IMAGE, OURS_TAG, DECOY_TAG, *DECOY_IMAGES, check=False)
    for kind, name in (("image", OURS_IMAGE), ("image", STALE_IMAGE), ("registry-tag", OURS_TAG)):
        ledger.forget(kind, name)


# ---------------------------------------------------------------- what the deck declares


def test_the_deck_declares_its_containers_images_and_pushes():
    declared = docker_commands.declared()
    assert declared.containers == {"workshop-demo", "workshop-oom"}
    assert {"workshop-demo-deb:1.0", "workshop-demo-py:1.0", "localhost:5001/okpy-mini:v2"} <= declared.images
    assert "localhost:5001/okpy-mini:v2" in declared.pushes
    assert declared.volumes == {"workshop-notes"}  # the named volume of the state slide, not a path


def test_a_volume_of_the_decks_name_is_kept_and_named_not_removed(docker):
    """Nothing records that the workshop made workshop-notes (docker run creates it), so reset --all leaves
    one that exists, the user's or a half-run deck's, and says how to remove it."""
    volume = next(iter(docker_commands.declared().volumes))
    existed = sh("docker", "volume", "inspect", volume, check=False).returncode == 0
    sh("docker", "volume", "create", volume)
    try:
        done = run_reset("--dry-run", "--all")
        assert done.returncode == 0, done.stderr
        assert f"note: kept: volume {volume}," in done.stdout and f"docker volume rm {volume}" in done.stdout
        assert "would remove volume" not in done.stdout
    finally:
        if not existed:
            sh("docker", "volume", "rm", volume, check=False)


def test_with_no_record_only_the_decks_own_names_can_go(docker, tmp_path):
    """A checkout that made nothing: whatever another checkout made stays (images, tags, registry), and
    a container named by a box of the deck still goes (so a plan that removes nothing fails here)."""
    declared = docker_commands.declared()
    boxes_own = sorted(declared.containers)[0]
    made = sh("docker", "create", "--name", boxes_own, DEBIAN_IMAGE, "true", check=False).returncode == 0
    try:
        done = run_reset("--dry-run", "--all", state=tmp_path / "empty-state")
    finally:
        if made:
            sh("docker", "rm", "-f", boxes_own, check=False)
    assert done.returncode == 0, done.stderr
    assert f"would remove container {boxes_own}" in done.stdout, done.stdout
    for line in done.stdout.splitlines():
        if line.startswith("would remove "):
            kind, _, name = line[len("would remove ") :].partition(" ")
            assert kind in ("container", "image") and (name in declared.containers or name in declared.images), line
    assert "registry tag" not in done.stdout and "would remove registry " not in done.stdout


# ---------------------------------------------------------------- for real, next to decoys


@pytest.fixture
def planted(docker, private_state):
    """Our recorded things and the user's decoys, made for this test only; all removed afterwards. What
    is recorded goes into the test's private copy of the record, never the checkout's."""
    need(registry.status() and registry.ours(), "the registry this checkout started", "run scripts/prepare registry")
    remove_all()
    try:
        empty_image("resettest-standin-base:1", "standin")  # stands for a stand-in base image
        empty_image(OURS_IMAGE, "docker-demo")
        ledger.record("image", OURS_IMAGE, id=image_id(OURS_IMAGE), role="app")
        empty_image(STALE_IMAGE)
        ledger.record("image", STALE_IMAGE, id="sha256:" + "0" * 64, role="app")  # since rebuilt by the user
        # the user's own: an image FROM a stand-in (it inherits the label), one with our name prefix,
        # containers with our prefix and from a stand-in, and a tag in our registry
        sh("docker", "tag", "resettest-standin-base:1", "resettest-built-from-standin:1")
        sh("docker", "rmi", "resettest-standin-base:1")
        empty_image("workshop-demo-resettest:1")
        sh("docker", "create", "--name", "workshop-resettest", "workshop-demo-resettest:1")
        sh("docker", "create", "--name", "resettest-from-standin", "resettest-built-from-standin:1")
        for ref in (OURS_TAG, DECOY_TAG):
            sh("docker", "tag", OURS_IMAGE, ref)
            sh("docker", "push", ref)
        ledger.record("registry-tag", OURS_TAG)
        yield
    finally:
        remove_all()


@pytest.mark.cluster_alone  # checks the checkout's record is untouched: after the class lane, which writes it
def test_a_private_record_is_the_one_commands_read_and_the_checkouts_stays(docker, private_state):
    """The fence the tests that record things rely on: what a test records goes into its private copy,
    reset run as a command reads that copy, and the checkout's own record never hears of it."""
    ref = "resettest-private:1"
    empty_image(ref)
    try:
        ledger.record("image", ref, id=image_id(ref), role="app")
        assert ref in (private_state.path / ledger.FILE).read_text()
        private = run_reset("--dry-run", "--all", "--only", ref)
        assert f"would remove image {ref}\n" in private.stdout, private.stdout + private.stderr
        checkout = run_command(
            "reset", "--dry-run", "--all", "--only", ref, timeout=300, base=private_state.checkout_env
        )
        assert (checkout.returncode, checkout.stdout) == (0, "nothing to reset\n"), checkout.stdout + checkout.stderr
    finally:
        sh("docker", "rmi", ref, check=False)


def registry_has(ref):
    return registry.digest(*ref[len(registry.ADDRESS) + 1 :].rsplit(":", 1)) is not None


@pytest.mark.cluster_alone  # checks the checkout's record is untouched: after the class lane, which writes it
@pytest.mark.slow
def test_reset_all_removes_what_it_recorded_and_leaves_every_decoy(planted):
    listed = run_reset("--dry-run", "--all")  # the real selection, over everything here
    assert listed.returncode == 0, listed.stderr
    assert f"would remove image {OURS_IMAGE}\n" in listed.stdout
    assert f"would remove registry tag {OURS_TAG}\n" in listed.stdout
    for name in DECOY_CONTAINERS + DECOY_IMAGES + [DECOY_TAG]:
        assert name not in listed.stdout, name
    assert "nothing was changed" in listed.stdout.splitlines()[-1]

    done = run_reset("--all", "--only", ONLY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"removed image {OURS_IMAGE}\n" in done.stdout and not exists("image", OURS_IMAGE)
    assert f"removed registry tag {OURS_TAG}\n" in done.stdout and not registry_has(OURS_TAG)
    for name in DECOY_CONTAINERS:
        assert exists("container", name), name
    for ref in DECOY_IMAGES:
        assert exists("image", ref), ref
    assert registry_has(DECOY_TAG)
    assert ledger.find("image", OURS_IMAGE) is None and ledger.find("registry-tag", OURS_TAG) is None

    again = run_reset("--all", "--only", ONLY)
    assert (again.returncode, again.stdout, again.stderr) == (0, "nothing to reset\n", "")


def test_nothing_to_reset_says_so(docker):
    done = run_reset("--only", "no-such-thing-resettest-*")
    assert (done.returncode, done.stdout, done.stderr) == (0, "nothing to reset\n", "")


@pytest.mark.cluster
def test_kubernetes_objects_go_only_in_the_workshops_namespace(workshop_cluster):
    labelled = (
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: resettest-svc\n  labels:\n"
        "    app.kubernetes.io/part-of: cs198-workshop\nspec:\n  selector: {app: resettest}\n"
        "  ports: [{port: 80}]\n"
    )
    kubectl.run("create", "namespace", "resettest-theirs", check=False)
    kubectl.run("apply", "-f", "-", stdin=labelled)  # the workshop's namespace
    kubectl.run("apply", "-n", "resettest-theirs", "-f", "-", stdin=labelled)  # someone else's
    try:
        current = json.loads(kubectl.run("config", "view", "--minify", "-o", "json").stdout)
        assert current["contexts"][0]["context"]["namespace"] == names.namespace()
        done = run_reset("--only", "*/resettest*")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"removed service {names.namespace()}/resettest-svc\n" in done.stdout
        assert "resettest-theirs" not in done.stdout
        assert kubectl.run("get", "service", "resettest-svc", check=False).returncode != 0
        assert kubectl.run("get", "service", "resettest-svc", "-n", "resettest-theirs", check=False).returncode == 0
    finally:
        kubectl.run("delete", "namespace", "resettest-theirs", "--ignore-not-found", "--wait=false", check=False)
        kubectl.run("delete", "service", "resettest-svc", "--ignore-not-found", check=False)
