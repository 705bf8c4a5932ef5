"""Running programs on the host for prepare: quiet commands, logged long ones, apt installs,
background daemons. Every failure becomes a one-line WorkshopError that names the log to read."""
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from .cli import WorkshopError
from .paths import LOGS, ROOT

# Places a root shell has on PATH but a minimal CI environment may not.
_SBIN = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def is_linux_root() -> bool:
    """True where prepare may install packages and start daemons itself."""
    return platform.system() == "Linux" and hasattr(os, "geteuid") and os.geteuid() == 0


def which(program: str) -> Optional[str]:
    """shutil.which, also looking in the sbin folders."""
    found = shutil.which(program)
    if found:
        return found
    for folder in _SBIN:
        candidate = Path(folder) / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def log_path(name: str) -> Path:
    LOGS.mkdir(parents=True, exist_ok=True)
    return LOGS / name


def shown(path: Path) -> str:
    """A path as the user should read it: relative to the repository when inside it."""
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def capture(cmd: Sequence[str], timeout: float = 60, check: bool = True, input: Optional[bytes] = None,
            env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run a short command, capturing its output as text; on failure raise with its last error line."""
    try:
        done = subprocess.run(list(cmd), capture_output=True, timeout=timeout, input=input, env=env)
    except FileNotFoundError:
        raise WorkshopError(f"{cmd[0]} is not installed")
    except subprocess.TimeoutExpired:
        raise WorkshopError(f"`{' '.join(cmd[:3])}` did not finish within {timeout:.0f} s")
    done.stdout = done.stdout.decode(errors="replace")
    done.stderr = done.stderr.decode(errors="replace")
    if check and done.returncode != 0:
        why = last_line(done.stderr) or last_line(done.stdout) or f"exit status {done.returncode}"
        raise WorkshopError(f"`{' '.join(cmd[:3])}` failed: {why}")
    return done


def logged(cmd: Sequence[str], log: Path, timeout: float = 1800, what: Optional[str] = None,
           stdin=None, env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None) -> None:
    """Run a long command with its output appended to log; on failure raise naming the log."""
    what = what or " ".join(cmd[:3])
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(str(c) for c in cmd)}\n".encode())
        out.flush()
        try:
            status = subprocess.run(list(cmd), stdout=out, stderr=subprocess.STDOUT, stdin=stdin,
                                    timeout=timeout, env=env, cwd=cwd).returncode
        except FileNotFoundError:
            raise WorkshopError(f"{cmd[0]} is not installed")
        except subprocess.TimeoutExpired:
            raise WorkshopError(f"{what} took longer than {timeout:.0f} s; see {shown(log)}")
    if status != 0:
        tail = last_line(Path(log).read_text(errors="replace"))
        raise WorkshopError(f"{what} failed ({tail[:160]}); see {shown(log)}")


_apt_updated = False


def apt_install(packages: Iterable[str], log: Path) -> None:
    """apt-get update (once per process) and install packages without questions. Root on Debian only."""
    global _apt_updated
    packages = list(packages)
    if not is_linux_root() or not which("apt-get"):
        raise WorkshopError(f"{' '.join(packages)} must be installed first (apt-get as root, or your system's package manager)")
    # needrestart's apt hook would ask about restarting services: nothing here runs under a service manager
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", NEEDRESTART_SUSPEND="1")
    if not _apt_updated:
        logged(["apt-get", "update"], log, timeout=600, what="apt-get update", env=env,
               stdin=subprocess.DEVNULL)
        _apt_updated = True
    # with recommends, as checked on these machines (docker.io brings cgroupfs-mount, tini, ...)
    logged(["apt-get", "install", "-y", *packages], log, timeout=900,
           what=f"apt-get install {' '.join(packages)}", env=env, stdin=subprocess.DEVNULL)


def ensure_program(program: str, package: str, log: Path) -> str:
    """The path of program, installing its Debian package first when it is missing."""
    found = which(program)
    if found:
        return found
    apt_install([package], log)
    found = which(program)
    if not found:
        raise WorkshopError(f"installing {package} did not provide {program}; see {shown(log)}")
    return found


def start_daemon(cmd: Sequence[str], log: Path, pid_file: Optional[Path] = None) -> int:
    """Start cmd in its own session, detached from this process, output appended to log."""
    with open(log, "ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} $ {' '.join(cmd)}\n".encode())
        out.flush()
        process = subprocess.Popen(list(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, close_fds=True)
    if pid_file is not None:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{process.pid}\n")
    return process.pid


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie counts as gone
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def process_named(pid: int, name: str) -> bool:
    """Is pid alive and running the program called name (guards against reused pids)?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(argv) and os.path.basename(argv[0].decode(errors="replace")) == name and pid_alive(pid)


def pids_named(name: str) -> List[int]:
    """Live processes whose program is called name (Linux /proc only)."""
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if entry.name.isdigit() and process_named(int(entry.name), name):
            found.append(int(entry.name))
    return found


def read_pid(pid_file: Path) -> Optional[int]:
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
