"""The local node provider: its generated configuration (fast), and a real cluster end to end (slow)."""
import hashlib
import io
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import IN_CI, docker_answers, need
from workshop import paths
from workshop.cli import WorkshopError
from workshop.cluster.local_node import binaries, certs, components, configs, ociimage
from workshop.cluster.local_node.layout import BRIDGE_IP, COMPONENTS, NODE_NAME, PORTS, Layout
from workshop.commands.local_cluster import main as cli_main
from workshop.machine import host, ports


@pytest.fixture
def layout(tmp_path):
    return Layout(state=tmp_path / ".workshop")


# ---------------------------------------------------------------- configuration

def test_containerd_config_is_its_own_and_fits_this_vm(layout):
    text = configs.containerd_config(layout, "localhost/workshop/pause:1.0")
    assert "restrict_oom_score_adj = true" in text
    assert "SystemdCgroup = false" in text
    assert f'address = "{layout.containerd_socket}"' in text
    assert f'root = "{layout.containerd_root}"' in text and f'state = "{layout.containerd_state}"' in text
    assert f'config_path = "{layout.registry_hosts}"' in text
    assert 'sandbox_image = "localhost/workshop/pause:1.0"' in text
    assert "/var/lib/containerd" not in text and "/run/containerd/containerd.sock" not in text


def test_local_registry_is_plain_http():
    text = configs.registry_hosts_toml("localhost:5001")
    assert 'server = "http://localhost:5001"' in text
    assert '[host."http://localhost:5001"]' in text


def test_kubelet_config_matches_the_checked_settings(layout):
    config = yaml.safe_load(configs.kubelet_config(layout))
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["failCgroupV1"] is False
    assert config["address"] == "127.0.0.1" and config["healthzBindAddress"] == "127.0.0.1"
    assert config["readOnlyPort"] == 0
    assert config["clusterDNS"] == [BRIDGE_IP]
    assert config["containerRuntimeEndpoint"] == f"unix://{layout.containerd_socket}"
    assert config["authentication"]["anonymous"]["enabled"] is False


def test_kube_proxy_leaves_host_sysctls_alone(layout):
    config = yaml.safe_load(configs.kube_proxy_config(layout))
    assert config["mode"] == "iptables"
    assert config["conntrack"]["maxPerCore"] == 0 and config["conntrack"]["min"] == 0
    assert config["iptables"]["localhostNodePorts"] is False
    assert config["bindAddress"] == "127.0.0.1"


def test_admin_kubeconfig_has_the_workshop_context(layout):
    files = configs.files(layout, "pause")
    config = yaml.safe_load(files[layout.kubeconfig])
    assert layout.kubeconfig == layout.state / "kubeconfig"
    assert config["current-context"] == "workshop"
    assert [c["name"] for c in config["contexts"]] == ["workshop"]
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert config["users"][0]["user"]["client-certificate"] == str(layout.pki / "admin.crt")


def test_every_generated_file_stays_inside_the_state_folder(layout):
    for path in configs.files(layout, "pause"):
        assert layout.state in path.parents


def test_cni_chain_is_bridge_host_local_portmap(layout):
    conflist = json.loads(configs.cni_conflist(layout))
    assert [p["type"] for p in conflist["plugins"]] == ["bridge", "portmap"]
    bridge = conflist["plugins"][0]
    assert bridge["ipam"]["type"] == "host-local"
    assert bridge["ipam"]["dataDir"] == str(layout.cni_data)
    assert bridge["ipam"]["ranges"][0][0]["gateway"] == BRIDGE_IP
    assert os.path.basename(configs.CNI_BIN) == "cni"


def test_components_listen_on_loopback_only(layout):
    commands = configs.commands(layout, Path("/bin-dir"))
    assert list(commands) == COMPONENTS
    text = " ".join(" ".join(argv) for argv in commands.values())
    text += configs.kubelet_config(layout) + configs.kube_proxy_config(layout)
    assert "0.0.0.0" not in text
    addresses = set(re.findall(r"\b(\d+\.\d+\.\d+\.\d+)(?::\d+)?\b", text))
    # subnets (pods, services) and the pods' gateway aside, every address is loopback
    assert addresses <= {"127.0.0.1", "10.96.0.0", "10.244.0.0", BRIDGE_IP}, addresses
    assert "bind 10.244.0.1" in configs.corefile(layout)


def test_ports_are_distinct():
    ports = [port for component in PORTS.values() for port in component.values()]
    assert len(ports) == len(set(ports))


def test_components_run_our_built_programs(layout):
    commands = configs.commands(layout, Path("/bins"))
    for name in ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "coredns"]:
        assert commands[name][0] == f"/bins/{name}"
    assert f"--hostname-override={NODE_NAME}" in commands["kubelet"]


# ---------------------------------------------------------------- build module

def test_build_module_replaces_every_staging_module_with_the_matching_release():
    go_mod = (binaries.BUILD / "kubernetes" / "go.mod").read_text()
    version = binaries.kubernetes_version()
    # the version kind v0.33.0's own node image carries (README.md), and 1.34 still runs on cgroup v1
    assert version == "v1.34.11"
    replaced = re.findall(r"^\s*(k8s\.io/\S+) => (\S+) (v\S+)$", go_mod, re.M)
    assert len(replaced) >= 30
    # the proxy refuses these two samples at v0.34.11; nothing the build compiles imports them
    refused = {"k8s.io/sample-cli-plugin", "k8s.io/sample-controller"}
    for name, target, target_version in replaced:
        assert target == name
        assert target_version == ("v0.32.5" if name in refused else "v0." + version[len("v1."):]), name


def test_version_ldflags_set_the_reported_version():
    flags = binaries.version_ldflags("v1.32.5")
    assert "-X k8s.io/component-base/version.gitVersion=v1.32.5" in flags
    assert "-X k8s.io/client-go/pkg/version.gitVersion=v1.32.5" in flags
    assert "gitMinor=32" in flags


def test_binaries_are_keyed_by_version():
    assert binaries.bin_dir("v1.32.5") == paths.STATE / "k8s-bin" / "v1.32.5"


def test_missing_go_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(WorkshopError, match="Go toolchain"):
        host.go_program("the programs")


# ---------------------------------------------------------------- image archive, certificates, processes

def test_image_archive_is_consistent(tmp_path):
    archive = tmp_path / "image.tar"
    program = tmp_path / "prog"
    program.write_bytes(b"\x7fELF not really")
    ociimage.write_single_binary_image(archive, program, "/prog", "localhost/workshop/prog:1.0")
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    index = json.loads(members["index.json"])
    manifest_digest = index["manifests"][0]["digest"]
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == "localhost/workshop/prog:1.0"
    for name, data in members.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(members["blobs/sha256/" + manifest_digest.split(":")[1]])
    layer = members["blobs/sha256/" + manifest["layers"][0]["digest"].split(":")[1]]
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        entry = tar.getmember("prog")
        assert entry.mode == 0o755 and tar.extractfile(entry).read() == program.read_bytes()
    docker = json.loads(members["manifest.json"])
    assert docker[0]["RepoTags"] == ["localhost/workshop/prog:1.0"]


def test_certificates_chain_to_the_ca_and_name_loopback(tmp_path):
    need(shutil.which("openssl") is not None, "openssl", "apt-get install -y openssl")
    pki = tmp_path / "pki"
    certs.ensure_pki(pki, NODE_NAME)
    for identity in certs.identities(NODE_NAME):
        verify = subprocess.run(["openssl", "verify", "-CAfile", str(pki / "ca.crt"), str(pki / f"{identity.name}.crt")],
                                capture_output=True, text=True)
        assert verify.returncode == 0, verify.stderr
    text = subprocess.run(["openssl", "x509", "-in", str(pki / "apiserver.crt"), "-noout", "-text"],
                          capture_output=True, text=True).stdout
    assert "IP Address:127.0.0.1" in text and "DNS:kubernetes.default.svc" in text
    admin = subprocess.run(["openssl", "x509", "-in", str(pki / "admin.crt"), "-noout", "-subject"],
                           capture_output=True, text=True).stdout
    assert "system:masters" in admin
    before = (pki / "ca.crt").read_bytes()
    certs.ensure_pki(pki, NODE_NAME)
    assert (pki / "ca.crt").read_bytes() == before


def test_taken_port_is_detected():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        assert ports.busy(holder.getsockname()[1])


def test_pid_file_of_a_dead_process_is_not_trusted(layout):
    layout.node.mkdir(parents=True)
    pid = components.start(layout, "sleeper", ["sleep", "30"])
    assert components.pid_of(layout, "sleeper") == pid
    assert layout.log_file("sleeper").exists()
    assert components.stop(layout, "sleeper")
    assert components.pid_of(layout, "sleeper") is None
    layout.pid_file("sleeper").write_text(f"{os.getpid()} 1\n")
    assert components.pid_of(layout, "sleeper") is None


def test_bad_arguments_are_one_line():
    with pytest.raises(WorkshopError, match="usage: local-cluster"):
        cli_main(["sideways"])


# ---------------------------------------------------------------- end to end

def _kubectl(*args, check=True, timeout=120):
    tool = binaries.bin_dir() / "kubectl"
    result = subprocess.run([str(tool), "--kubeconfig", str(paths.KUBECONFIG), *args],
                            capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result


PROBE_APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: localhost/workshop/probe:1.0
        imagePullPolicy: Never
        args: [serve, ":8080"]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


def _registry_answers() -> bool:
    try:
        with urllib.request.urlopen("http://127.0.0.1:5001/v2/", timeout=3) as answer:
            return answer.status == 200
    except OSError:
        return False


def _push_probe_to_registry() -> str:
    """docker load the probe archive and push it to localhost:5001; return the reference."""
    need(docker_answers(), "a Docker engine", "run scripts/prepare")
    reference = "localhost:5001/workshop-local-node/probe:1.0"
    for command in (["docker", "load", "-q", "-i", str(binaries.bin_dir() / "probe.tar")],
                    ["docker", "tag", binaries.PROBE_IMAGE, reference], ["docker", "push", "-q", reference]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{' '.join(command)}: {result.stderr}"
    return reference


@pytest.mark.slow
@pytest.mark.cluster
def test_local_cluster_end_to_end():
    """up, node Ready, a pod reaches a Service by name, down leaves nothing on the machine."""
    need(sys.platform.startswith("linux") and os.geteuid() == 0, "Linux as root", "run the tests as root on Linux")
    need(shutil.which("go") is not None or os.access("/usr/local/go/bin/go", os.X_OK), "the Go toolchain",
         "install Go 1.23 or newer")
    from workshop.cluster.local_node import provider

    need(not provider.running(Layout()), "a machine with no local cluster running (this test brings up and "
         "removes its own)", "scripts/cluster down")
    try:
        result = provider.up()
        assert not result["reused"]
        ready = _kubectl("get", "node", NODE_NAME, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
        assert ready.stdout == "True"
        version = _kubectl("version", "-o", "json")
        assert json.loads(version.stdout)["serverVersion"]["gitVersion"] == binaries.kubernetes_version()
        # credentials: the kubeconfigs are the owner's alone, and etcd answers no client without a certificate
        for path in [paths.KUBECONFIG, *Layout().conf.glob("*.kubeconfig")]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        anonymous = ssl.create_default_context(cafile=str(Layout().pki / "ca.crt"))
        with pytest.raises((ssl.SSLError, ConnectionResetError, urllib.error.URLError)):
            urllib.request.urlopen(f"https://127.0.0.1:{PORTS['etcd']['client']}/health", context=anonymous, timeout=5)

        # The client pod's image is imported straight into containerd; the web Deployment's image
        # comes from the workshop's plain-HTTP registry on localhost:5001 when it runs (always in CI).
        imported = subprocess.run(["ctr", "--address", str(Layout().containerd_socket), "-n", "k8s.io", "images",
                                   "import", str(binaries.bin_dir() / "probe.tar")], capture_output=True, text=True)
        assert imported.returncode == 0, imported.stderr
        app = PROBE_APP
        if IN_CI or _registry_answers():
            need(_registry_answers(), "the local registry on localhost:5001", "run scripts/prepare")
            app = app.replace("image: localhost/workshop/probe:1.0\n        imagePullPolicy: Never",
                              f"image: {_push_probe_to_registry()}\n        imagePullPolicy: Always")
        subprocess.run([str(binaries.bin_dir() / "kubectl"), "--kubeconfig", str(paths.KUBECONFIG), "apply", "-f", "-"],
                       input=app, text=True, check=True, capture_output=True)
        _kubectl("rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
        _kubectl("run", "client", "--image=localhost/workshop/probe:1.0", "--image-pull-policy=Never",
                 "--restart=Never", "--", "get", "http://web/", "60")
        deadline = time.monotonic() + 120
        phase = ""
        while time.monotonic() < deadline:
            phase = _kubectl("get", "pod", "client", "-o", "jsonpath={.status.phase}").stdout
            if phase in ("Succeeded", "Failed"):
                break
            time.sleep(1)
        logs = _kubectl("logs", "client", check=False).stdout
        assert phase == "Succeeded", f"client pod {phase}: {logs}"
        assert "hello from web-" in logs
        assert provider.status(say=lambda _: None)["node_ready"]
    finally:
        provider.down()
    left = {kind: items for kind, items in provider.traces(Layout(), made_kubepods=True, netns_before=[]).items()
            if items}
    assert not left, left
    assert not paths.KUBECONFIG.exists()


def test_cni_network_name_matches_what_down_cleans(layout):
    from workshop.cluster.local_node import provider
    assert json.loads(configs.cni_conflist(layout))["name"] == provider.CNI_NETWORK


def test_a_component_that_dies_at_start_is_one_line_naming_its_log(layout):
    layout.node.mkdir(parents=True)
    components.start(layout, "etcd", ["sh", "-c", "echo bad flag >&2; exit 3"])
    with pytest.raises(WorkshopError, match=r"^etcd exited during start-up: see .*etcd\.log$"):
        components.wait_until(layout, "etcd", lambda: False, 10)
    assert "bad flag" in layout.log_file("etcd").read_text()


def test_up_without_root_is_one_line(monkeypatch):
    from workshop.cluster.local_node import provider
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(WorkshopError, match="needs root"):
        provider.up(say=lambda _: None)
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(WorkshopError, match="Linux"):
        provider.down(say=lambda _: None)
