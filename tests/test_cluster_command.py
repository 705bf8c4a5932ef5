"""scripts/cluster: the provider choice, and an existing context used only when named,
copied into the workshop's own kubeconfig while the user's file stays as it was."""
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import need
from test_workshop_shell import api_server, kubeconfig
from workshop.cluster import kind
from workshop.paths import ROOT


def cluster(*args, env):
    return subprocess.run([sys.executable, "-m", "workshop.commands.cluster", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT), **env})


@pytest.fixture
def user_kubeconfig(tmp_path):
    need(shutil.which("kubectl") is not None, "kubectl", "install kubectl (see README.md)")
    decoy, mine = api_server(), api_server()
    config = tmp_path / "user-config"
    kubeconfig(config, "decoy", decoy)                 # the user's current context is the decoy
    data = yaml.safe_load(config.read_text())
    kubeconfig(tmp_path / "mine", "mine", mine)
    other = yaml.safe_load((tmp_path / "mine").read_text())
    for section in ("clusters", "users", "contexts"):
        data[section] += other[section]
    config.write_text(yaml.safe_dump(data))
    yield config, decoy, mine
    decoy.shutdown()
    mine.shutdown()


def test_an_existing_context_is_used_only_when_named_and_the_users_file_is_untouched(tmp_path, user_kubeconfig):
    config, decoy, mine = user_kubeconfig
    before = config.read_bytes()
    env = {"WORKSHOP_STATE": str(tmp_path / "state"), "KUBECONFIG": str(config), "HOME": str(tmp_path)}
    done = cluster("up", "--context", "mine", env=env)
    assert done.returncode == 0, done.stderr
    assert "existing cluster 'mine'" in done.stdout
    ours = (tmp_path / "state" / "kubeconfig").read_text()
    assert "name: workshop" in ours and f"127.0.0.1:{mine.server_address[1]}" in ours
    assert f"127.0.0.1:{decoy.server_address[1]}" not in ours
    assert mine.paths and decoy.paths == []
    assert cluster("status", env=env).returncode == 0
    done = cluster("down", env=env)
    assert done.returncode == 0 and "it was not changed" in done.stdout
    assert not (tmp_path / "state" / "kubeconfig").exists()
    assert config.read_bytes() == before
    assert decoy.paths == []


def test_bad_input_is_one_line(tmp_path, user_kubeconfig):
    config, _, _ = user_kubeconfig
    env = {"WORKSHOP_STATE": str(tmp_path / "state"), "KUBECONFIG": str(config), "HOME": str(tmp_path)}
    for args, needle, status in ((["up", "--context", "nosuch"], "there is no context 'nosuch'", 2),
                                 (["status"], "no workshop cluster: run scripts/cluster up", 1),
                                 (["down"], "no workshop cluster to remove", 0)):
        done = cluster(*args, env=env)
        assert done.returncode == status
        assert needle in done.stdout + done.stderr
        assert "Traceback" not in done.stderr


def test_kind_config_points_containerd_at_the_registry_container():
    assert 'config_path = "/etc/containerd/certs.d"' in kind.CLUSTER_CONFIG
    assert kind.HOSTS_TOML == '[host."http://workshop-registry:5000"]\n'
    assert kind.REGISTRY_CONFIGMAP["data"]["localRegistryHosting.v1"] == 'host: "localhost:5001"\n'
    assert kind.NODE_IMAGE.startswith("kindest/node:v1.32.")
