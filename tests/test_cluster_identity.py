"""What the workshop made on a cluster it did not make is deleted there and nowhere else. A second,
one-node kind cluster plays the teacher's other cluster: a context that pointed at the workshop's
cluster is pointed at it between up and down (or at nothing at all), and the class and the workshop's
namespace must refuse, in one line naming both clusters, instead of deleting there or reporting
success."""

import subprocess

import pytest
import yaml

from conftest import run_command
from workshop import paths
from workshop.cluster import kind, kubectl
from workshop.names import PART_OF
from workshop.paths import kubeconfig

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.classroom]  # the class lane (conftest)
SECOND = "cs198-second-test"
NAMESPACE = "cs198-identity-test"


@pytest.fixture(scope="module")
def second_cluster(workshop_cluster, tmp_path_factory):
    """A kubeconfig of B, a one-node kind cluster on the workshop's node image (made and deleted here)."""
    folder = tmp_path_factory.mktemp("second")
    config = folder / "kubeconfig"
    made = ledger_image()
    kind_config = kind.cluster_config(kind.engine_cgroup_version()).replace("  - role: worker\n", "")
    subprocess.run(
        [
            kind.command(),
            "create",
            "cluster",
            "--name",
            SECOND,
            "--image",
            made,
            "--config",
            "-",
            "--kubeconfig",
            config,
        ],
        input=kind_config,
        text=True,
        capture_output=True,
        check=True,
        timeout=600,
    )
    try:
        yield config
    finally:
        subprocess.run([kind.command(), "delete", "cluster", "--name", SECOND], capture_output=True, timeout=300)


def ledger_image() -> str:
    from workshop import ledger

    entry = ledger.find("cluster", f"kind/{kind.NAME}")
    assert entry and entry.get("image"), "the workshop's kind cluster is not on record"
    return entry["image"]


def entry(config, name: str) -> dict:
    data = yaml.safe_load(config.read_text())
    return {
        "cluster": data["clusters"][0]["cluster"],
        "user": data["users"][0]["user"],
        "name": name,
    }


def user_kubeconfig(path, **contexts: dict) -> None:
    """The teacher's own kubeconfig: one context per name, each a cluster and user taken from `entry`."""
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": next(iter(contexts)),
                "clusters": [{"name": n, "cluster": e["cluster"]} for n, e in contexts.items()],
                "users": [{"name": n, "user": e["user"]} for n, e in contexts.items()],
                "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in contexts],
            }
        )
    )
    path.chmod(0o600)


def namespace_on(config, name: str) -> bool:
    return bool(
        kubectl.run("get", "namespace", name, "--ignore-not-found", "-o", "name", config=config, context=None).stdout
    )


@pytest.fixture
def private(tmp_path):
    """A state folder of its own, with the kubectl built with the node image."""
    state = tmp_path / "state"
    state.mkdir()
    built = paths.state() / "k8s-bin"
    if built.is_dir():
        (state / "k8s-bin").symlink_to(built)
    return state


def test_the_workshops_namespace_is_deleted_only_on_the_cluster_it_was_made_on(second_cluster, private, tmp_path):
    a, b = entry(kubeconfig(), "a"), entry(second_cluster, "b")
    nowhere = {**a, "cluster": {**a["cluster"], "server": "https://127.0.0.1:1"}}
    mine = tmp_path / "config"
    env = {"WORKSHOP_STATE": str(private), "KUBECONFIG": str(mine), "WORKSHOP_NAMESPACE": NAMESPACE}
    kubectl.run("create", "namespace", NAMESPACE, config=second_cluster, context=None)  # B's own, not the workshop's
    try:
        user_kubeconfig(mine, teacher=a, other=b)
        up = run_command("cluster", "up", "--context", "teacher", timeout=120, env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        assert namespace_on(kubeconfig(), NAMESPACE)
        elsewhere = run_command("cluster", "up", "--context", "other", timeout=120, env=env)
        assert elsewhere.returncode != 0
        assert f"already has a namespace '{NAMESPACE}' that the workshop did not create" in elsewhere.stderr

        # the teacher's context now points at B: reset and down must leave B's namespace alone
        user_kubeconfig(private / "kubeconfig", workshop=b)
        kubectl.run(
            "create", "configmap", "labelled", "-n", NAMESPACE, config=second_cluster, context=None
        )  # labelled as the lecture's: what reset would delete in the workshop's own namespace
        kubectl.run("label", "configmap", "labelled", "-n", NAMESPACE, PART_OF, config=second_cluster, context=None)
        reset = run_command("reset", "--dry-run", "--only", f"{NAMESPACE}/*", timeout=120, env=env)
        said = reset.stdout + reset.stderr
        assert "but the workshop now reaches the cluster at" in said and "labelled" not in said, said
        down = run_command("cluster", "down", timeout=120, env=env)
        said = down.stdout + down.stderr
        assert down.returncode != 0 and "nothing was deleted" in said and said.count("kube-system") == 2, said
        assert namespace_on(second_cluster, NAMESPACE)

        # no cluster answers at all: nothing is deleted, and it says so
        user_kubeconfig(private / "kubeconfig", workshop=nowhere)
        down = run_command("cluster", "down", timeout=120, env=env)
        assert down.returncode != 0 and "does not answer: nothing was deleted" in down.stderr, down.stderr

        # back on A, the one it was made on: deleted there
        user_kubeconfig(private / "kubeconfig", workshop=a)
        kubectl.run("config", "set-context", "workshop", f"--namespace={NAMESPACE}", config=private / "kubeconfig")
        down = run_command("cluster", "down", timeout=120, env=env)
        assert down.returncode == 0, down.stderr
        kubectl.run("wait", "--for=delete", f"namespace/{NAMESPACE}", "--timeout=120s", check=False, timeout=150)
        assert not namespace_on(kubeconfig(), NAMESPACE) and namespace_on(second_cluster, NAMESPACE)
    finally:
        kubectl.run("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false", check=False)


def test_a_class_is_taken_down_only_on_the_cluster_it_was_made_on(second_cluster, private, tmp_path):
    a, b = entry(kubeconfig(), "a"), entry(second_cluster, "b")
    nowhere = {**a, "cluster": {**a["cluster"], "server": "https://127.0.0.1:1"}}
    mine = tmp_path / "config"
    env = {"WORKSHOP_STATE": str(private), "KUBECONFIG": str(mine)}
    student = "cs198-student-01"
    kubectl.run("wait", "--for=delete", f"namespace/{student}", "--timeout=180s", check=False, timeout=200)
    user_kubeconfig(mine, teacher=a)
    try:
        up = run_command("klass", "up", "--students", "1", "--context", "teacher", timeout=300, env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "is a loopback address: students on other laptops cannot reach it" in up.stdout, up.stdout
        for switched, said in ((b, "but the workshop now reaches the cluster at"), (nowhere, "does not answer")):
            user_kubeconfig(mine, teacher=switched)
            down = run_command("klass", "down", timeout=120, env=env)
            assert down.returncode != 0 and said in down.stderr and "nothing was deleted" in down.stderr, down.stderr
            assert len(down.stderr.strip().splitlines()) == 1, down.stderr
            assert namespace_on(kubeconfig(), student)
        user_kubeconfig(mine, teacher=a)
        down = run_command("klass", "down", timeout=120, env=env)
        assert down.returncode == 0 and "removed the class: 1 namespace(s)" in down.stdout, down.stdout + down.stderr
    finally:
        user_kubeconfig(mine, teacher=a)
        run_command("klass", "down", timeout=120, env=env)
    assert not (private / "class" / "roster.json").exists()
