"""scripts/cluster: the provider choice, and an existing context used only when named,
copied into the workshop's own kubeconfig while the user's file stays as it was."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # render.txt pins tomli there
    import tomli as tomllib  # type: ignore[import-not-found]

from conftest import IN_CI, need, run_command
from provision import node_build
from test_workshop_shell import api_server, kubeconfig
from workshop import ledger, paths, versions
from workshop.cli import WorkshopError
from workshop.cluster import kind, kubectl, providers
from workshop.commands import reset
from workshop.machine import docker_engine as engine, registry
from workshop.names import DEBIAN_IMAGE
from workshop.paths import ROOT


def cluster(*args, env):
    return run_command("cluster", *args, timeout=60, env=env)


@pytest.fixture
def user_kubeconfig(tmp_path):
    """The user's own kubeconfig: a current context that is a decoy (a listener that records every
    request), and a context 'mine' for a real cluster (the workshop's, standing in for theirs)."""
    need(
        shutil.which("kubectl") is not None or any((ROOT / ".workshop").glob("k8s-bin/*/kubectl")),
        "kubectl",
        "install kubectl (see README.md)",
    )
    decoy = api_server()
    config = tmp_path / "user-config"
    kubeconfig(config, "decoy", decoy)  # the user's current context is the decoy
    data = yaml.safe_load(config.read_text())
    if paths.kubeconfig().exists():
        real = yaml.safe_load(paths.kubeconfig().read_text())
        data["clusters"].append({"name": "mine", "cluster": real["clusters"][0]["cluster"]})
        data["users"].append({"name": "mine", "user": real["users"][0]["user"]})
        data["contexts"].append({"name": "mine", "context": {"cluster": "mine", "user": "mine"}})
    config.write_text(yaml.safe_dump(data))
    yield config, decoy
    decoy.shutdown()


def run_env(tmp_path, config, namespace):
    return {
        "WORKSHOP_STATE": str(tmp_path / "state"),
        "KUBECONFIG": str(config),
        "HOME": str(tmp_path),
        "WORKSHOP_NAMESPACE": namespace,
    }


@pytest.mark.cluster
def test_an_existing_context_is_used_only_when_named_and_the_users_file_is_untouched(
    tmp_path, user_kubeconfig, workshop_cluster
):
    config, decoy = user_kubeconfig
    before = config.read_bytes()
    namespace = f"cs198-existing-test-{os.getpid()}"
    env = run_env(tmp_path, config, namespace)
    done = cluster("up", "--context", "mine", env=env)
    assert done.returncode == 0, done.stderr
    assert "existing cluster 'mine'" in done.stdout
    ours = yaml.safe_load((tmp_path / "state" / "kubeconfig").read_text())
    assert ours["current-context"] == "workshop" and ours["contexts"][0]["context"]["namespace"] == namespace
    assert stat.S_IMODE((tmp_path / "state" / "kubeconfig").stat().st_mode) == 0o600
    assert kubectl.run("get", "namespace", namespace, check=False).returncode == 0
    assert cluster("status", env=env).returncode == 0
    done = cluster("down", env=env)
    assert done.returncode == 0 and "nothing of it but the workshop's namespace was changed" in done.stdout
    assert not (tmp_path / "state" / "kubeconfig").exists()
    deadline = time.monotonic() + 60  # the namespace the workshop made there goes, and only it
    while (
        kubectl.run("get", "namespace", namespace, "--ignore-not-found", "-o", "name").stdout.strip()
        and time.monotonic() < deadline
    ):
        time.sleep(1)
    assert not kubectl.run("get", "namespace", namespace, "--ignore-not-found", "-o", "name").stdout.strip()
    assert config.read_bytes() == before
    assert decoy.paths == []


@pytest.mark.cluster
def test_a_namespace_of_that_name_the_workshop_did_not_make_is_refused(tmp_path, user_kubeconfig, workshop_cluster):
    config, decoy = user_kubeconfig
    done = cluster("up", "--context", "mine", env=run_env(tmp_path, config, "kube-public"))
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert "already has a namespace 'kube-public' that the workshop did not create" in line
    assert kubectl.run("get", "namespace", "kube-public", check=False).returncode == 0  # untouched
    assert decoy.paths == []


def test_bad_input_is_one_line(tmp_path, user_kubeconfig):
    config, _ = user_kubeconfig
    env = run_env(tmp_path, config, "cs198-workshop")
    for args, needle, status in (
        (["up", "--context", "nosuch"], "there is no context 'nosuch'", 2),
        (["status"], "no workshop cluster: run scripts/cluster up", 1),
        (["down"], "no workshop cluster to remove", 0),
    ):
        done = cluster(*args, env=env)
        assert done.returncode == status
        assert needle in done.stdout + done.stderr
        assert "Traceback" not in done.stderr


def test_kind_cluster_config_three_nodes_and_the_registry():
    config = yaml.safe_load(kind.cluster_config("2"))
    assert [node["role"] for node in config["nodes"]] == ["control-plane", "worker", "worker"]
    patches = "\n".join(config["containerdConfigPatches"])
    assert 'config_path = "/etc/containerd/certs.d"' in patches and "restrict_oom_score_adj = true" in patches
    # what containerd reads on each node: valid TOML naming one mirror, the registry container on the kind network
    # (that the nodes really pull through it is the deploy of localhost:5001 images in the cluster tests)
    assert list(tomllib.loads(kind.HOSTS_TOML)["host"]) == [f"http://{registry.CONTAINER}:{registry.INSIDE_PORT}"]


def test_the_kubelet_is_told_to_accept_cgroup_v1_only_on_a_cgroup_v1_engine():
    def kubelet_settings(cgroup_version):
        patches = yaml.safe_load(kind.cluster_config(cgroup_version)).get("kubeadmConfigPatches") or []
        return [yaml.safe_load(patch) for patch in patches if "KubeletConfiguration" in patch]

    assert kubelet_settings("1") == [{"kind": "KubeletConfiguration", "failCgroupV1": False}]
    assert kubelet_settings("2") == []


def test_the_upstream_node_image_is_kinds_own_default_of_the_same_minor():
    """The pin is exactly the image kind v0.33.0 creates by default (read from kind's own source, which
    the Go module proxy serves), and it is the same Kubernetes minor as the one built here."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    need(os.access(go, os.X_OK), "the Go toolchain (it fetches kind's source)", "install Go 1.26")
    done = subprocess.run(
        [go, "mod", "download", "-json", f"sigs.k8s.io/kind@{kind.KIND_VERSION}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/tmp",
    )
    assert done.returncode == 0, done.stderr
    source = (Path(json.loads(done.stdout)["Dir"]) / "pkg/apis/config/defaults/image.go").read_text()
    assert f'const Image = "{kind.UPSTREAM_IMAGE}"' in source
    upstream = kind.UPSTREAM_IMAGE.split("@")[0].split(":")[1]
    assert upstream.split(".")[:2] == versions.kubernetes_version().split(".")[:2]


@pytest.mark.parametrize(("given", "expected"), [(None, "19"), ("0", "0"), (" 7 ", "7"), ("19", "19")])
def test_go_builds_run_at_the_niceness_asked_for_and_19_by_default(tmp_path, monkeypatch, given, expected):
    """A real go build of a small program: the logged command is niced as asked (CI asks 0, a laptop gets 19)."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    need(Path(go).is_file(), "Go", "install Go (the node image's programs are built with it)")
    if given is None:
        monkeypatch.delenv(node_build.NICENESS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(node_build.NICENESS_VARIABLE, given)
    module = tmp_path / "hello"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/hello\n\ngo 1.21\n")
    (module / "main.go").write_text('package main\n\nfunc main() { println("hi") }\n')
    log = tmp_path / "build.log"
    node_build._go_build(go, module, ".", tmp_path / "hello-bin", "", log)
    assert (tmp_path / "hello-bin").is_file()
    assert f"$ nice -n {expected} {go} build " in log.read_text()


@pytest.mark.parametrize("given", ["-1", "20", "low", ""])
def test_a_niceness_out_of_range_is_refused_in_one_line(monkeypatch, given):
    monkeypatch.setenv(node_build.NICENESS_VARIABLE, given)
    with pytest.raises(WorkshopError) as refused:
        node_build.niceness()
    message = str(refused.value)
    assert "\n" not in message and "0 to 19" in message and repr(given.strip()) in message


def test_python_and_build_sh_read_the_same_pinned_versions():
    """kind.py's node tag and kind version are the ones build.sh gets by sourcing versions.env."""
    done = subprocess.run(
        [
            "bash",
            "-c",
            'set -eu; HERE=$1; source "$HERE/versions.env"; echo "$NODE_TAG $KIND_VERSION"',
            "-",
            str(node_build.RECIPE),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    node_tag, kind_version = done.stdout.split()
    assert (kind.LOCAL_IMAGE, kind.KIND_VERSION) == (f"workshop-kind/node:{node_tag}", kind_version)
    assert node_tag.startswith(versions.kubernetes_version() + "-")


@pytest.mark.cluster
def test_the_workshop_cluster_on_kind_has_three_ready_nodes_and_pulls_from_the_registry(workshop_cluster):
    if (providers.chosen() or {}).get("provider") != "kind":
        need(not IN_CI, "the workshop cluster on kind (CI brings it up on kind)", "scripts/cluster up --provider kind")
        pytest.skip("the workshop cluster here is not kind")
    minor = f"v{versions.kubernetes_minor()}"  # v1.37: the upstream node image may be another patch
    summary = str(kubectl.node_summary())
    assert re.fullmatch(rf"3 node\(s\), 3 Ready \({re.escape(minor)}\.\d+\)", summary), summary
    server = json.loads(kubectl.run("version", "-o", "json").stdout)["serverVersion"]
    assert f"v{server['major']}.{server['minor'].rstrip('+')}" == minor, server
    assert kind.ours() and stat.S_IMODE(paths.kubeconfig().stat().st_mode) == 0o600
    hosting = kubectl.run("get", "configmap", "local-registry-hosting", "-n", "kube-public", "-o", "json").stdout
    assert registry.ADDRESS in hosting


def _docker(*args):
    return subprocess.run([engine.client() or "docker", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.cluster_alone(renews=True)
@pytest.mark.slow
@pytest.mark.cluster
def test_kind_down_leaves_nothing_of_the_workshops_and_everything_of_the_users(workshop_cluster):
    """cluster down on kind: no node container, no kind network it brought. A node image built here stays
    for the next up, with the images it was built from: reset --all lists them, and never the user's own
    image named like them. Then up again."""
    if (providers.chosen() or {}).get("provider") != "kind":
        need(not IN_CI, "the workshop cluster on kind (CI brings it up on kind)", "scripts/cluster up --provider kind")
        pytest.skip("the workshop cluster here is not kind")
    decoy = "workshop-kind/users-own:1"  # named like ours, made by the user
    assert _docker("tag", DEBIAN_IMAGE, decoy).returncode == 0
    ours = [entry["name"] for entry in ledger.of_kind("image") if entry.get("role") in ("kind-node", "kind-build")]
    if (ledger.find("cluster", f"kind/{kind.NAME}") or {}).get("image") == kind.LOCAL_IMAGE:  # built here
        assert kind.LOCAL_IMAGE in ours and len(ours) >= 8, ours  # the node and its base and components
    network_ours = ledger.find("network", "kind") is not None
    try:
        said = providers.down(say=lambda _: None)
        assert said.startswith(f"deleted kind cluster '{kind.NAME}'"), said
        nodes = _docker("ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={kind.NAME}", "--format", "{{.Names}}")
        assert nodes.returncode == 0 and not nodes.stdout.split(), nodes.stdout
        if network_ours:
            assert _docker("network", "inspect", "kind").returncode != 0
        kept = [image for image in ours if _docker("image", "inspect", image).returncode == 0]
        assert kept == ours, ours  # what the next up starts from
        assert _docker("image", "inspect", decoy).returncode == 0  # the user's stays
        planned = [item.name for item in reset.plan(everything=True) if item.kind == "image"]
        assert set(ours) <= set(planned) and decoy not in planned, planned
    finally:
        _docker("rmi", decoy)
        if not kubectl.cluster_ready():
            providers.up("kind", say=lambda _: None)
    assert str(kubectl.node_summary()).startswith("3 node(s), 3 Ready")
