"""The host-side network pieces of the node: the pods' bridge, two FORWARD rules, and their removal.

Only things named or tagged as ours are ever removed: the bridge BRIDGE, iptables rules carrying
IPTABLES_COMMENT, network namespaces that the node's containerd made, and kube-proxy's KUBE-* chains.
"""
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import List

from workshop.cluster.local_node.layout import BRIDGE, BRIDGE_IP, IPTABLES_COMMENT, POD_SUBNET
from workshop.machine import host

NETNS_DIR = Path("/var/run/netns")
PREFIX = POD_SUBNET.split("/")[1]
# Docker sets the FORWARD policy to DROP; these let pod traffic through it (bridged and routed).
FORWARD_RULES = [["-i", BRIDGE], ["-o", BRIDGE]]


def _run(args: List[str], check: bool = True) -> subprocess.CompletedProcess:
    return host.run(args, check=check, what=" ".join(args))


def bridge_exists() -> bool:
    return Path(f"/sys/class/net/{BRIDGE}").exists()


def create_bridge() -> None:
    """The CNI bridge, made before the first pod so CoreDNS can listen on its address at once."""
    if not bridge_exists():
        _run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    current = _run(["ip", "-4", "-o", "addr", "show", "dev", BRIDGE]).stdout
    if f" {BRIDGE_IP}/" not in current:
        _run(["ip", "addr", "add", f"{BRIDGE_IP}/{PREFIX}", "dev", BRIDGE])
    _run(["ip", "link", "set", BRIDGE, "up"])


def delete_bridge() -> bool:
    if not bridge_exists():
        return False
    _run(["ip", "link", "delete", BRIDGE], check=False)
    return True


def _forward_rule(spec: List[str]) -> List[str]:
    return ["FORWARD", *spec, "-m", "comment", "--comment", IPTABLES_COMMENT, "-j", "ACCEPT"]


def add_forward_rules() -> None:
    for spec in FORWARD_RULES:
        if _run(["iptables", "-w", "-C", *_forward_rule(spec)], check=False).returncode != 0:
            _run(["iptables", "-w", "-I", *_forward_rule(spec)])


def delete_forward_rules() -> int:
    removed = 0
    for spec in FORWARD_RULES:
        while _run(["iptables", "-w", "-D", *_forward_rule(spec)], check=False).returncode == 0:
            removed += 1
    return removed


def netns_names() -> List[str]:
    return sorted(p.name for p in NETNS_DIR.glob("cni-*")) if NETNS_DIR.is_dir() else []


def delete_netns(names: List[str]) -> List[str]:
    """Remove the named network namespaces (unmount the bind mount, then the file)."""
    removed = []
    for name in names:
        path = NETNS_DIR / name
        if not path.exists():
            continue
        _run(["umount", "-l", str(path)], check=False)
        try:
            path.unlink()
            removed.append(name)
        except OSError:
            pass
    return removed


TABLES = ("nat", "filter", "mangle")
IPTABLES = ("iptables", "ip6tables")


def _listing(tool: str, table: str) -> List[str]:
    if not shutil.which(tool):
        return []
    return _run([tool, "-w", "-t", table, "-S"], check=False).stdout.splitlines()


def kube_chains() -> List[str]:
    """The KUBE-* chains that kubelet and kube-proxy made (IPv4 and IPv6)."""
    chains = []
    for tool in IPTABLES:
        for table in TABLES:
            chains += [f"{tool}/{table}/{line.split()[1]}" for line in _listing(tool, table)
                       if line.startswith("-N KUBE-")]
    return chains


def delete_kube_chains() -> int:
    """Remove every KUBE-* chain and the jumps to them: what `kube-proxy --cleanup` leaves
    (kubelet's KUBE-FIREWALL and the canaries). Called only when none existed before up."""
    removed = 0
    for tool in IPTABLES:
        for table in TABLES:
            lines = _listing(tool, table)
            for line in lines:
                words = shlex.split(line)
                if words[:1] == ["-A"] and not words[1].startswith("KUBE-") and "-j" in words \
                        and words[words.index("-j") + 1].startswith("KUBE-"):
                    _run([tool, "-w", "-t", table, "-D", *words[1:]], check=False)
            chains = [line.split()[1] for line in lines if line.startswith("-N KUBE-")]
            for chain in chains:
                _run([tool, "-w", "-t", table, "-F", chain], check=False)
            for chain in chains:
                if _run([tool, "-w", "-t", table, "-X", chain], check=False).returncode == 0:
                    removed += 1
    return removed


def our_forward_rules() -> int:
    return _run(["iptables", "-w", "-S", "FORWARD"], check=False).stdout.count(IPTABLES_COMMENT)
