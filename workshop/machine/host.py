"""Running programs on the host: the one helper every module uses to call an external program
(its failure becomes one WorkshopError line that says what failed and what to do), long runs
logged to a file, and apt-get installs."""

import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.paths import ROOT, logs

# Places a root shell has on PATH but a minimal CI environment may not.
_SBIN = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def is_linux_root() -> bool:
    """True where prepare may install packages and start daemons itself."""
    return platform.system() == "Linux" and hasattr(os, "geteuid") and os.geteuid() == 0


def which(program: str) -> str | None:
    """shutil.which, also looking in the sbin folders."""
    found = shutil.which(program)
    if found:
        return found
    for folder in _SBIN:
        candidate = Path(folder) / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def install_hint(debian: str, brew: str | None = None) -> str:
    """The command that installs a package on this kind of machine."""
    if sys.platform == "darwin":
        return f"brew install {brew or debian}"
    return f"sudo apt-get install -y {debian}"


def go_program(what: str) -> str:
    """The Go toolchain, which builds what the registries have no binary of."""
    go = which("go") or ("/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else "")
    if not go:
        raise WorkshopError(
            f"the Go toolchain is needed to build {what}: install Go 1.26 or newer "
            f"(https://go.dev/dl or apt install golang) and run this again."
        )
    return go


def log_path(name: str) -> Path:
    logs().mkdir(parents=True, exist_ok=True)
    return logs() / name


def shown(path: Path) -> str:
    """A path as the user should read it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run(
    cmd: Sequence[str],
    timeout: float = 60,
    check: bool = True,
    input: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    what: str | None = None,
    fix: str = "",
    timeout_fix: str = "",
) -> subprocess.CompletedProcess:
    """Run a short program and capture its output as text. When it is missing, takes too long or
    (with check) fails, raise one line: what failed, its last error line, and what to do (`fix`;
    `timeout_fix` when it took too long)."""
    cmd = [str(part) for part in cmd]
    what = what or " ".join(cmd[:3])
    tail = f"; {fix}" if fix else ""
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            timeout=timeout,
            input=input,
            env=env,
            cwd=cwd,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except FileNotFoundError as error:
        raise WorkshopError(f"{cmd[0]} is not installed{tail}", detail=_told(cmd)) from error
    except subprocess.TimeoutExpired as error:
        slow = f"; {timeout_fix or fix}" if (timeout_fix or fix) else ""
        told = _told(cmd, None, error.stdout, error.stderr)
        raise WorkshopError(f"`{what}` did not finish within {timeout:.0f} s{slow}", detail=told) from error
    if check and done.returncode != 0:
        why = last_line(done.stderr) or last_line(done.stdout) or f"exit status {done.returncode}"
        raise WorkshopError(
            f"`{what}` failed: {why}{tail}", detail=_told(cmd, done.returncode, done.stdout, done.stderr)
        )
    return done


def _told(cmd: Sequence[str], status: int | None = None, stdout=None, stderr=None) -> str:
    """A failed program, whole: its command line, exit status and output (for .workshop/logs/last-error.txt)."""

    def text(value) -> str:
        return value.decode(errors="replace") if isinstance(value, bytes) else (value or "")

    return (
        f"command: {shlex.join(str(part) for part in cmd)}\n"
        f"exit status: {'none (it did not finish)' if status is None else status}\n"
        f"stdout:\n{text(stdout).rstrip()}\nstderr:\n{text(stderr).rstrip()}"
    )


def logged(
    cmd: Sequence[str],
    log: Path,
    timeout: float = 1800,
    what: str | None = None,
    stdin=subprocess.DEVNULL,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> None:
    """Run a long program with its output appended to log; on failure raise naming the log."""
    cmd = [str(part) for part in cmd]
    what = what or " ".join(cmd[:3])
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            status = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=stdin, timeout=timeout, env=env, cwd=cwd
            ).returncode
        except FileNotFoundError:
            raise WorkshopError(f"{cmd[0]} is not installed") from None
        except subprocess.TimeoutExpired:
            raise WorkshopError(f"{what} took longer than {timeout:.0f} s; see {shown(log)}") from None
    if status != 0:
        tail = last_line(Path(log).read_text(errors="replace"))
        raise WorkshopError(f"{what} failed ({tail[:160]}); see {shown(log)}")


_apt_updated = False


def apt_install(packages: Iterable[str], log: Path, recommends: bool = True) -> None:
    """apt-get update (once per process) and install packages without questions. Root on Debian only."""
    global _apt_updated
    packages = sorted(set(packages))
    if not is_linux_root() or not which("apt-get"):
        raise WorkshopError(
            f"{' '.join(packages)} must be installed first (apt-get as root, or your system's package manager)"
        )
    # needrestart's apt hook would ask about restarting services: nothing here runs under a service manager
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", NEEDRESTART_SUSPEND="1")
    if not _apt_updated:
        logged(["apt-get", "update"], log, timeout=600, what="apt-get update", env=env)
        _apt_updated = True
    options = [] if recommends else ["--no-install-recommends"]
    logged(
        ["apt-get", "install", "-y", *options, *packages],
        log,
        timeout=900,
        what=f"apt-get install {' '.join(packages)}",
        env=env,
    )


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
