"""The one process supervisor: start a daemon in its own session with a pid file that also
holds its start time, find it again only if that same process still runs (a reused pid is
never mistaken for ours), stop it (TERM, then KILL), and read what runs (psutil, so it works
on macOS as well as Linux)."""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psutil

from workshop.cli import WorkshopError


def _created(pid: int) -> float | None:
    """When pid started, or None when it is gone (a zombie counts as gone). On Linux, the start in clock
    ticks since boot (/proc/PID/stat): psutil's wall-clock create_time moves when the system clock is
    stepped (seen here: 82 s), and then a process the workshop started no longer looked like its own."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        if Path("/proc/self/stat").exists():
            return float(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError, OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    return _created(pid) is not None


def start(
    argv: Sequence[str],
    log: Path,
    pid_file: Path | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    what: str | None = None,
) -> int:
    """Start argv in its own session, detached, output appended to log; record it in pid_file.

    Ctrl-C and SIGTERM wait until the pid file is written: the daemon runs in its own session and
    would outlive an interrupt that came between its start and its record, unknown to `stop`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with deferred_signals():
        return _start(argv, log, pid_file, cwd, env, what)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then act on them as usual. (Not a signal mask:
    a child started meanwhile would inherit it.) Only the main thread can hold them; elsewhere a
    signal arrives at once, as it always does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = {
        number: signal.signal(number, lambda got, _frame: caught.append(got))
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in held.items():
            signal.signal(number, handler)
        for got in caught:
            signal.raise_signal(got)


def _start(
    argv: Sequence[str],
    log: Path,
    pid_file: Path | None,
    cwd: Path | None,
    env: dict[str, str] | None,
    what: str | None,
) -> int:
    with open(log, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(map(str, argv))}\n".encode())
        out.flush()
        try:
            process = subprocess.Popen(
                [str(a) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
                cwd=cwd,
                env=env,
            )
        except OSError as error:
            raise WorkshopError(f"{what or argv[0]} could not start ({error.strerror}: {argv[0]})") from None
    if pid_file is not None:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{process.pid} {_created(process.pid) or ''}\n")
    return process.pid


def recorded(pid_file: Path) -> int | None:
    """The pid in pid_file if that very process (same start time) still runs, else None."""
    try:
        pid_text, started = (pid_file.read_text().split() + [""])[:2]
        pid, started_at = int(pid_text), float(started)
    except (OSError, ValueError):
        return None
    now = _created(pid)
    return pid if now is not None and abs(now - started_at) < 0.01 else None


def stop(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after timeout seconds; returns once the process is gone."""
    try:
        process = psutil.Process(pid)
        process.terminate()
        try:
            process.wait(timeout)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(5)
    except (psutil.NoSuchProcess, psutil.TimeoutExpired, ChildProcessError):
        pass


def stop_recorded(pid_file: Path, timeout: float = 15.0) -> bool:
    """Stop the process pid_file records, if it still runs; True if it did. The pid file goes either way."""
    pid = recorded(pid_file)
    if pid:
        stop(pid, timeout)
    pid_file.unlink(missing_ok=True)
    return pid is not None


def kill(pids: Sequence[int]) -> None:
    """SIGKILL at once (what is left in a closed terminal's session)."""
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


def rss_kib(pid: int) -> int:
    try:
        return psutil.Process(pid).memory_info().rss // 1024
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0


def descendants(pid: int) -> list[int]:
    """The processes pid started, and theirs, that still run ([] when pid is gone)."""
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _others():
    me = os.getpid()
    for process in psutil.process_iter(["pid", "name", "cmdline"]):
        if process.info["pid"] != me:
            yield process


def named(name: str) -> list[int]:
    """Live processes whose program is called name."""
    found = []
    for process in _others():
        argv = process.info["cmdline"] or []
        program = os.path.basename(argv[0]) if argv else process.info["name"]
        if program == name and alive(process.info["pid"]):
            found.append(process.info["pid"])
    return found


def with_argument(text: str) -> list[int]:
    """Processes whose command line contains text (e.g. our containerd socket, on its shims)."""
    return [process.info["pid"] for process in _others() if any(text in arg for arg in process.info["cmdline"] or [])]


def in_session(sid: int) -> list[int]:
    """Processes whose session id is sid (what a terminal's shell left running)."""
    found = []
    for process in _others():
        try:
            if os.getsid(process.info["pid"]) == sid:
                found.append(process.info["pid"])
        except OSError:
            continue
    return found


def network_namespaces_in_use() -> set[int]:
    """The inode numbers of the network namespaces some live process is in."""
    inodes = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                inodes.add(os.stat(entry / "ns" / "net").st_ino)
            except OSError:
                continue
    return inodes


def command_line(pid: int) -> list[str]:
    """The process's argv, or [] when it is gone or hidden."""
    try:
        return psutil.Process(pid).cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until pid has ended (a zombie counts as ended); True if it did within timeout."""
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def with_environment(name: str, value: str) -> list[int]:
    """The processes (but this one) whose environment holds NAME=VALUE: what one program started,
    when it put a value of its own there for its children to inherit."""
    found: list[int] = []
    mark = f"{name}={value}".encode()
    if not Path("/proc").is_dir():  # macOS: no /proc; the callers also go by process trees
        return found
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
