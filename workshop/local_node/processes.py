"""Starting, finding and stopping the node's processes by the pid files they leave in run/."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

from ..cli import WorkshopError
from .layout import Layout


def _start_time(pid: int) -> Optional[str]:
    """The kernel's start time of `pid` (field 22 of /proc/PID/stat), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]


def start(layout: Layout, name: str, argv: List[str], env: Optional[Dict[str, str]] = None) -> int:
    """Start one component in its own session, output appended to logs/<name>.log; write its pid file."""
    layout.logs.mkdir(parents=True, exist_ok=True)
    layout.run.mkdir(parents=True, exist_ok=True)
    log = layout.log_file(name)
    with open(log, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        out.flush()
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True, cwd=layout.node, env=env)
        except OSError as error:
            raise WorkshopError(f"{name} could not start ({error.strerror}: {argv[0]})")
    layout.pid_file(name).write_text(f"{process.pid} {_start_time(process.pid) or ''}\n")
    return process.pid


def pid_of(layout: Layout, name: str) -> Optional[int]:
    """The pid of a component we started that still runs (the pid file's start time must match)."""
    try:
        pid_text, started = (layout.pid_file(name).read_text().split() + [""])[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return pid if _start_time(pid) is not None and _start_time(pid) == started else None


def stop_pid(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    started = _start_time(pid)
    if started is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if _start_time(pid) != started:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(50):
        _reap(pid)
        if _start_time(pid) != started:
            return
        time.sleep(0.1)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop(layout: Layout, name: str, timeout: float = 15.0) -> bool:
    """Stop a component we started; True if one was running. The pid file goes either way."""
    pid = pid_of(layout, name)
    if pid:
        stop_pid(pid, timeout)
    layout.pid_file(name).unlink(missing_ok=True)
    return pid is not None


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pids_with_argument(text: str) -> List[int]:
    """Processes whose command line contains `text` (e.g. our containerd socket, on its shims)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(text.encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found


def port_taken(host: str, port: int) -> bool:
    """True if something already listens on (or holds) host:port over TCP."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def wait_until(layout: Layout, name: str, ready: Callable[[], bool], timeout: float) -> float:
    """Poll `ready` until it answers True; fail in one line if the process dies or time runs out."""
    started = time.monotonic()
    log = layout.log_file(name)
    while time.monotonic() - started < timeout:
        if pid_of(layout, name) is None:
            raise WorkshopError(f"{name} exited during start-up: see {log}")
        try:
            if ready():
                return time.monotonic() - started
        except Exception:  # noqa: BLE001 - any failure of a probe just means "not yet"
            pass
        time.sleep(0.25)
    raise WorkshopError(f"{name} did not become ready within {int(timeout)} s: see {log}")
