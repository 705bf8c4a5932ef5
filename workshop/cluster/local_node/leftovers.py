"""What the node leaves on the machine while it runs, and how down removes it: mounts, cgroups."""
from pathlib import Path
from typing import List

from workshop.machine import host

CGROUP_ROOT = Path("/sys/fs/cgroup")
KUBEPODS = "kubepods"


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts_under(folder: Path) -> List[str]:
    """Mount points at or below `folder` (from /proc/self/mountinfo), deepest first."""
    prefix = str(folder.resolve())
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        point = _unescape(line.split()[4])
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def unmount_under(folder: Path) -> List[str]:
    """Unmount everything below `folder`, lazily if a mount is busy."""
    removed = []
    for _ in range(3):
        points = mounts_under(folder)
        if not points:
            break
        for point in points:
            if host.run(["umount", point], check=False).returncode != 0:
                host.run(["umount", "-l", point], check=False)
            removed.append(point)
    return removed


def cgroup_dirs() -> List[Path]:
    """kubelet's pod cgroup tree (cgroupfs driver, cgroup v1 or v2): one per controller."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        candidates = [CGROUP_ROOT / KUBEPODS]
    else:
        candidates = [controller / KUBEPODS for controller in CGROUP_ROOT.iterdir()
                      if controller.is_dir() and not controller.is_symlink()]
    return [path for path in candidates if path.is_dir()]


def cgroup_pids() -> List[int]:
    """Processes still inside the pod cgroups (containers whose shim is gone)."""
    pids = set()
    for top in cgroup_dirs():
        for procs in top.rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except (OSError, ValueError):
                pass
    return sorted(pids)


def remove_cgroups() -> List[str]:
    """rmdir the pod cgroup trees, leaves first. Only empty cgroups can go; the rest stay listed."""
    removed = []
    for top in cgroup_dirs():
        folders = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
        for folder in folders + [top]:
            try:
                folder.rmdir()
            except OSError:
                pass
        if not top.exists():
            removed.append(str(top))
    return removed


# Folders outside .workshop/ that the node's programs create on first use (libcni's result cache).
HOST_DIRS = [Path("/var/lib/cni")]


def cni_cache_files(network_name: str, sandbox_ids: List[str] = ()) -> List[Path]:
    """libcni's cached results (named <network>-<sandbox id>-<interface>) for our network, and for
    the loopback network that containerd adds, of our own pod sandboxes."""
    results = Path("/var/lib/cni/results")
    if not results.is_dir():
        return []
    found = set(results.glob(f"{network_name}-*"))
    for sandbox in sandbox_ids:
        found.update(results.glob(f"*-{sandbox}-*"))
    return sorted(found)


def sandbox_ids(containerd_root: Path) -> List[str]:
    """The pod sandboxes the node's containerd knows, from its CRI folder (works with containerd stopped)."""
    folder = containerd_root / "io.containerd.grpc.v1.cri" / "sandboxes"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def host_dirs_present() -> List[str]:
    return [str(path) for path in HOST_DIRS if path.exists()]


def remove_empty_tree(path: Path) -> bool:
    """rmdir `path` and its sub-folders if they hold no files; True if it is gone."""
    if not path.is_dir():
        return not path.exists()
    for folder in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            folder.rmdir()
        except OSError:
            pass
    try:
        path.rmdir()
    except OSError:
        return False
    return True
