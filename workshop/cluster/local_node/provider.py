"""The local cluster provider: up(), down() and status() of a single-node Kubernetes on this machine.

Linux and root only. Every component listens on 127.0.0.1 (CoreDNS on the pods' gateway),
runs from .workshop/, logs to .workshop/logs/<component>.log and is found again by its pid file.
"""
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict, List, Optional

from workshop.cli import WorkshopError, quiet
from workshop.cluster.local_node import binaries, certs, components, configs, leftovers, network
from workshop.cluster.local_node.layout import COMPONENTS, NODE_NAME, PORTS, Layout
from workshop.machine import host, ports, processes
from workshop.paths import write_private

Say = Callable[[str], None]
CNI_NETWORK = "workshop"  # the "name" of configs.cni_conflist

# Debian packages that provide the programs the node runs besides the ones we build.
HOST_PROGRAMS = {
    "etcd": "etcd-server",
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "iptables": "iptables",
    "ip": "iproute2",
    "openssl": "openssl",
}
START_TIMEOUT = {"etcd": 30, "containerd": 30, "kube-apiserver": 90, "kube-controller-manager": 60,
                 "kube-scheduler": 60, "kubelet": 60, "kube-proxy": 60, "coredns": 60}


# ---------------------------------------------------------------- checks and probes

def _require_linux_root() -> None:
    if not sys.platform.startswith("linux"):
        raise WorkshopError("the local cluster runs Kubernetes directly on Linux; on this system use the kind provider")
    if os.geteuid() != 0:
        raise WorkshopError("the local cluster needs root (it runs containerd, kubelet and iptables): run it with sudo")


def _have(program: str) -> bool:
    return os.access(program, os.X_OK) if program.startswith("/") else host.which(program) is not None


def ensure_host_programs(layout: Layout, say: Say) -> None:
    """apt-get install whichever Debian package is missing."""
    missing = sorted({package for program, package in HOST_PROGRAMS.items() if not _have(program)})
    if not missing:
        return
    if not host.which("apt-get"):
        raise WorkshopError(f"missing programs for the local cluster: install {', '.join(missing)}")
    say(f"installing {', '.join(missing)} with apt-get...")
    host.apt_install(missing, layout.log_file("apt"), recommends=False)


def check_ports(layout: Layout) -> None:
    """One line for the first port that something else holds."""
    for component, numbers in PORTS.items():
        for port in numbers.values():
            if ports.busy(port):
                raise WorkshopError(f"{component} cannot start: port {port} on 127.0.0.1 is already in use "
                                    f"(free it, or run scripts/local-cluster down if an earlier cluster holds it)")


def _tls_context(layout: Layout, identity: str = "admin") -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(layout.pki / "ca.crt"))
    context.load_cert_chain(str(layout.pki / f"{identity}.crt"), str(layout.pki / f"{identity}.key"))
    return context


def _get(url: str, context: Optional[ssl.SSLContext] = None, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(url, context=context, timeout=timeout) as answer:  # noqa: S310 - loopback only
        return answer.read().decode(errors="replace")


def _probes(layout: Layout) -> Dict[str, Callable[[], bool]]:
    insecure = ssl._create_unverified_context()  # noqa: S323 - the components' own self-signed healthz
    api = configs.API_SERVER
    return {
        "etcd": lambda: '"health":"true"' in _get(f"{configs.ETCD}/health", _tls_context(layout, "apiserver-etcd-client")),
        "containerd": lambda: _ctr(layout, "version").returncode == 0,
        "kube-apiserver": lambda: _get(f"{api}/readyz", _tls_context(layout)) == "ok",
        "kube-controller-manager": lambda: _get(f"https://127.0.0.1:{PORTS['kube-controller-manager']['https']}/healthz", insecure) == "ok",
        "kube-scheduler": lambda: _get(f"https://127.0.0.1:{PORTS['kube-scheduler']['https']}/healthz", insecure) == "ok",
        "kubelet": lambda: _get(f"http://127.0.0.1:{PORTS['kubelet']['healthz']}/healthz") == "ok",
        "kube-proxy": lambda: bool(_get(f"http://127.0.0.1:{PORTS['kube-proxy']['healthz']}/healthz")),
        "coredns": lambda: _get(f"http://127.0.0.1:{PORTS['coredns']['ready']}/ready").strip() == "OK",
    }


def _ctr(layout: Layout, *args: str) -> subprocess.CompletedProcess:
    return host.run(["ctr", "--address", str(layout.containerd_socket), "--namespace", "k8s.io", *args],
                    timeout=120, check=False)


def kubectl(layout: Layout, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    """The built kubectl against the workshop kubeconfig."""
    tool = binaries.bin_dir() / "kubectl"
    return host.run([tool, "--kubeconfig", layout.kubeconfig, *args], timeout=timeout, check=check,
                    what=f"kubectl {' '.join(args[:2])}")


def node_ready(layout: Layout) -> bool:
    result = kubectl(layout, "get", "node", NODE_NAME, "-o",
                     "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}", check=False, timeout=10)
    return result.returncode == 0 and result.stdout.strip() == "True"


# ---------------------------------------------------------------- state of a run

def running(layout: Layout) -> Dict[str, int]:
    """Component -> pid, for the components of ours that run now."""
    found = {}
    for name in COMPONENTS:
        pid = components.pid_of(layout, name)
        if pid:
            found[name] = pid
    return found


def traces(layout: Layout, made_kubepods: Optional[bool] = None, netns_before: Optional[List[str]] = None,
           made_chains: Optional[bool] = None) -> Dict[str, List[str]]:
    """Everything of ours still on the machine; down() leaves all of these empty."""
    socket_path = str(layout.containerd_socket)
    made_kubepods = _made_kubepods(layout) if made_kubepods is None else made_kubepods
    netns_before = _netns_before(layout) if netns_before is None else netns_before
    if made_chains is None:
        made_chains = not (layout.node / "kube-chains-existed-before-up").exists()
    return {
        "processes": [f"{name}:{pid}" for name, pid in running(layout).items()]
                     + [f"shim:{pid}" for pid in processes.with_argument(socket_path)],
        "mounts": leftovers.mounts_under(layout.node) if layout.node.exists() else [],
        "netns": [name for name in network.netns_names() if name not in netns_before],
        "bridge": [network.BRIDGE] if network.bridge_exists() else [],
        "iptables": ([f"FORWARD rules x{network.our_forward_rules()}"] if network.our_forward_rules() else [])
                    + (network.kube_chains() if made_chains else []),
        "cgroups": [str(p) for p in leftovers.cgroup_dirs()] if made_kubepods else [],
        "cni cache": [str(p) for p in leftovers.cni_cache_files(CNI_NETWORK)],
    }


def _netns_before(layout: Layout) -> List[str]:
    path = layout.node / "netns-before-up"
    return path.read_text().split() if path.exists() else []


def _made_kubepods(layout: Layout) -> bool:
    marker = layout.node / "kubepods-existed-before-up"
    return layout.node.exists() and not marker.exists()


# ---------------------------------------------------------------- up

def up(say: Say = print) -> Dict[str, object]:
    """Bring the node up (or find it already up); return timings and pids. One-line WorkshopError on failure."""
    _require_linux_root()
    layout = Layout()
    started = time.monotonic()
    alive = running(layout)
    if alive:
        if set(alive) == set(COMPONENTS) and _healthy(layout):
            say(f"the local cluster is already running (kubeconfig: {layout.kubeconfig})")
            return {"reused": True, "pids": alive, "seconds_to_ready": 0.0}
        raise WorkshopError(f"a local cluster from an earlier run is partly running ({', '.join(sorted(alive))}): "
                            f"run scripts/local-cluster down first")
    if layout.node.exists() or network.bridge_exists():
        raise WorkshopError(f"an earlier local cluster left state behind ({layout.node} or the {network.BRIDGE} "
                            "bridge) but does not run: run scripts/local-cluster down first")

    ensure_host_programs(layout, say)
    check_ports(layout)
    bins = binaries.ensure_binaries(say)
    build_done = time.monotonic()
    try:
        timings = _bring_up(layout, bins, say)
    except BaseException:
        say("bring-up failed; stopping what was started (logs stay in .workshop/logs/)")
        try:
            down(say=quiet)
        except WorkshopError as cleanup_error:
            say(f"also: {cleanup_error}")
        raise
    total = time.monotonic() - build_done
    result = {"reused": False, "pids": running(layout), "seconds_to_ready": round(total, 1),
              "seconds_with_build": round(time.monotonic() - started, 1), "component_seconds": timings,
              "rss_mib": round(rss_kib(layout) / 1024)}
    (layout.run / "up.json").write_text(json.dumps(result, indent=2) + "\n")
    say(f"local cluster ready in {total:.1f} s (node {NODE_NAME} Ready); kubeconfig: {layout.kubeconfig}, "
        f"context workshop")
    return result


def _healthy(layout: Layout) -> bool:
    try:
        return _probes(layout)["kube-apiserver"]() and node_ready(layout)
    except Exception:  # noqa: BLE001
        return False


def _write_files(layout: Layout) -> None:
    for folder in (layout.node, layout.conf, layout.run, layout.kubelet_root, layout.pod_logs,
                   layout.cni_data, layout.containerd_root, layout.containerd_state):
        folder.mkdir(parents=True, exist_ok=True)
    certs.ensure_pki(layout.pki, NODE_NAME)
    for path, text in configs.files(layout, binaries.PAUSE_IMAGE).items():
        if path.name.endswith("kubeconfig"):
            write_private(path, text)       # they name client keys: only root reads them
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    (layout.node / "netns-before-up").write_text("\n".join(network.netns_names()) + "\n")
    if network.kube_chains():
        (layout.node / "kube-chains-existed-before-up").write_text("iptables had KUBE-* chains; down leaves them\n")
    (layout.node / "host-dirs-before-up").write_text("\n".join(leftovers.host_dirs_present()) + "\n")
    if leftovers.cgroup_dirs():
        (layout.node / "kubepods-existed-before-up").write_text("kubelet's cgroups were there before; down leaves them\n")


def _bring_up(layout: Layout, bins: Path, say: Say) -> Dict[str, float]:
    _write_files(layout)
    network.create_bridge()
    network.add_forward_rules()
    commands = configs.commands(layout, bins)
    probes = _probes(layout)
    timings: Dict[str, float] = {}
    began = time.monotonic()
    for name in COMPONENTS:
        say(f"starting {name}...")
        components.start(layout, name, commands[name])
        components.wait_until(layout, name, probes[name], START_TIMEOUT[name])
        timings[name] = round(time.monotonic() - began, 1)
        if name == "containerd":
            imported = _ctr(layout, "images", "import", str(bins / "pause.tar"))
            if imported.returncode != 0:
                raise WorkshopError(f"containerd could not import the pause image: {imported.stderr.strip()[-200:]}")
        if name == "kube-apiserver":
            applied = kubectl(layout, "apply", "-f", str(layout.conf / "coredns-rbac.yaml"), check=False)
            if applied.returncode != 0:
                raise WorkshopError(f"kube-apiserver refused CoreDNS's RBAC rules: see {layout.log_file(name)}")
    say("waiting for the node to be Ready...")
    components.wait_until(layout, "kubelet", lambda: node_ready(layout), 120)
    components.wait_until(layout, "kube-controller-manager",
                         lambda: kubectl(layout, "get", "serviceaccount", "default", check=False).returncode == 0, 60)
    timings["node Ready"] = round(time.monotonic() - began, 1)
    return timings


# ---------------------------------------------------------------- down

def down(say: Say = print) -> Dict[str, List[str]]:
    """Stop everything up() started and remove what it made on the machine; return what was removed."""
    _require_linux_root()
    layout = Layout()
    made_kubepods, netns_before = _made_kubepods(layout), _netns_before(layout)
    sandboxes = leftovers.sandbox_ids(layout.containerd_root)
    made_chains = layout.node.exists() and not (layout.node / "kube-chains-existed-before-up").exists()
    host_dirs_file = layout.node / "host-dirs-before-up"
    host_dirs_before = host_dirs_file.read_text().split() if host_dirs_file.exists() else None
    removed: Dict[str, List[str]] = {"processes": []}
    for name in ["coredns", "kube-proxy", "kube-controller-manager", "kube-scheduler", "kubelet"]:
        if components.stop(layout, name):
            removed["processes"].append(name)
    cri_reset = binaries.bin_dir() / "cri-reset"
    if components.pid_of(layout, "containerd") and cri_reset.exists():
        reset = host.run([cri_reset, f"unix://{layout.containerd_socket}"], timeout=150, check=False)
        removed["pods"] = [line.split(" ", 2)[-1] for line in reset.stdout.splitlines()]
        if reset.returncode != 0:
            say(f"warning: some pods did not stop cleanly: {reset.stderr.strip().splitlines()[-1:]}")
    if components.stop(layout, "containerd"):
        removed["processes"].append("containerd")
    for pid in processes.with_argument(str(layout.containerd_socket)):
        processes.stop(pid, timeout=5)
        removed["processes"].append(f"shim {pid}")
    if made_kubepods:
        for pid in leftovers.cgroup_pids():
            processes.stop(pid, timeout=5)
            removed["processes"].append(f"container process {pid}")
    for name in ["kube-apiserver", "etcd"]:
        if components.stop(layout, name):
            removed["processes"].append(name)
    kube_proxy = binaries.bin_dir() / "kube-proxy"
    if made_chains and network.kube_chains():
        if kube_proxy.exists():
            host.run([kube_proxy, "--cleanup"], timeout=60, check=False)
        removed["iptables"] = [f"{network.delete_kube_chains()} KUBE-* chains"]
    if layout.node.exists():
        removed["mounts"] = leftovers.unmount_under(layout.node)
    ours = [name for name in network.netns_names() if name not in netns_before]
    removed["netns"] = network.delete_netns(ours)
    if network.delete_bridge():
        removed["bridge"] = [network.BRIDGE]
    if network.delete_forward_rules():
        removed.setdefault("iptables", []).append("FORWARD rules")
    if made_kubepods:
        removed["cgroups"] = leftovers.remove_cgroups()
    for cached in leftovers.cni_cache_files(CNI_NETWORK, sandboxes):
        cached.unlink(missing_ok=True)
        removed.setdefault("cni cache", []).append(cached.name)
    if host_dirs_before is not None:
        for folder in leftovers.HOST_DIRS:
            if str(folder) not in host_dirs_before and leftovers.remove_empty_tree(folder):
                removed.setdefault("folders", []).append(str(folder))
    if layout.node.exists():
        shutil.rmtree(layout.node, ignore_errors=True)
    if layout.kubeconfig.exists() and "workshop-local" in layout.kubeconfig.read_text():
        layout.kubeconfig.unlink()
    left = {kind: items for kind, items in traces(layout, made_kubepods, netns_before, made_chains).items() if items}
    if left:
        raise WorkshopError(f"down could not remove everything: {json.dumps(left)}")
    stopped = removed["processes"]
    say(f"local cluster down: stopped {len(stopped)} processes" + (f" ({', '.join(stopped)})" if stopped else "")
        + "; nothing of it is left on this machine")
    return removed


# ---------------------------------------------------------------- status

def rss_kib(layout: Layout) -> int:
    """Resident memory of our components, containerd's shims and the containers, in KiB."""
    pids = set(running(layout).values()) | set(processes.with_argument(str(layout.containerd_socket)))
    if _made_kubepods(layout):
        pids |= set(leftovers.cgroup_pids())
    return sum(processes.rss_kib(pid) for pid in pids)


def status(say: Say = print) -> Dict[str, object]:
    """What runs now: each component's pid and memory, and whether the node is Ready."""
    layout = Layout()
    alive = running(layout)
    report: Dict[str, object] = {
        "components": {name: {"pid": alive.get(name), "rss_mib": round(processes.rss_kib(alive[name]) / 1024)
                              if name in alive else 0} for name in COMPONENTS},
        "node_ready": bool(alive.get("kube-apiserver")) and _healthy(layout),
        "rss_mib_total": round(rss_kib(layout) / 1024),
        "kubeconfig": str(layout.kubeconfig),
    }
    if not alive:
        say("the local cluster is not running")
        return report
    for name in COMPONENTS:
        entry = report["components"][name]
        say(f"  {name:<24} " + (f"pid {entry['pid']:<8} {entry['rss_mib']:>5} MiB" if entry["pid"] else "not running"))
    say(f"node {NODE_NAME}: {'Ready' if report['node_ready'] else 'not Ready'}; "
        f"memory of all its processes and pods: {report['rss_mib_total']} MiB; kubeconfig {layout.kubeconfig}")
    return report
