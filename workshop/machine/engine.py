"""Is a Docker engine answering? On a Linux machine where we are root, make one answer:
install Debian's docker.io if dockerd is missing, start dockerd in the background, wait for it."""
import platform
import time
from typing import Optional

from workshop.cli import Note, WorkshopError, quiet
from workshop.machine import host, processes
from workshop.paths import STATE

DOCKERD_LOG = "dockerd.log"
DOCKERD_PID = STATE / "dockerd.pid"
WAIT_SECONDS = 60


def docker(*args: str, timeout: float = 60, check: bool = True):
    """Run the docker client briefly and return the CompletedProcess (text output)."""
    if not host.which("docker"):
        raise WorkshopError("the docker command is not installed: install Docker (Docker Desktop, or docker.io on Debian)")
    return host.run(["docker", *args], timeout=timeout, check=check)


def output(*args: str, timeout: float = 60) -> Optional[str]:
    """The docker client's output, or None when docker is missing, fails or takes too long (never raises)."""
    try:
        done = docker(*args, timeout=timeout, check=False)
    except WorkshopError:
        return None
    return done.stdout if done.returncode == 0 else None


def server_version(timeout: float = 20) -> Optional[str]:
    """The engine's version when it answers, else None."""
    if not host.which("docker"):
        return None
    try:
        done = host.run(["docker", "version", "--format", "{{.Server.Version}}"], timeout=timeout, check=False)
    except WorkshopError:
        return None
    version = done.stdout.strip()
    return version if done.returncode == 0 and version else None


def _how_to_start() -> str:
    if platform.system() in ("Darwin", "Windows"):
        return "start Docker Desktop, wait until it says it is running, then run scripts/prepare again"
    return ("start the docker service (`sudo systemctl start docker`) and make sure your user may use it "
            "(`sudo usermod -aG docker $USER`, then log in again), or run scripts/prepare as root")


def _wait(seconds: float, started_pid: Optional[int] = None) -> Optional[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        version = server_version(timeout=10)
        if version:
            return version
        if started_pid is not None and not processes.alive(started_pid):
            return None
        time.sleep(0.5)
    return None


def ensure_engine(note: Note = quiet) -> str:
    """Make sure an engine answers; return a one-line summary. Raises WorkshopError otherwise."""
    version = server_version()
    if version:
        return f"Docker {version} answering"
    if not host.is_linux_root():
        raise WorkshopError(f"no Docker engine answers: {_how_to_start()}")
    log = host.log_path(DOCKERD_LOG)
    if not host.which("dockerd") or not host.which("docker"):
        note("installing Debian's docker.io (about a minute, once)")
        host.apt_install(["docker.io"], log)
    running = processes.named("dockerd")
    if running:
        # someone (the service manager, another prepare) started one: give it time rather than start a second
        note(f"dockerd (pid {running[0]}) is starting; waiting up to {WAIT_SECONDS} s")
        version = _wait(WAIT_SECONDS)
        if version:
            return f"Docker {version} answering"
        raise WorkshopError(f"dockerd (pid {running[0]}) runs but does not answer `docker info` after "
                            f"{WAIT_SECONDS} s; look at its log, or stop it and run scripts/prepare again")
    pid = processes.start([host.which("dockerd")], log, DOCKERD_PID)
    note(f"started dockerd (pid {pid}), log in {host.shown(log)}")
    version = _wait(WAIT_SECONDS, started_pid=pid)
    if version:
        return f"Docker {version} answering (started dockerd, pid {pid})"
    tail = host.last_line(log.read_text(errors="replace"))
    raise WorkshopError(f"dockerd did not answer within {WAIT_SECONDS} s ({tail[:160]}); see {host.shown(log)}")


def image_exists(ref: str) -> bool:
    return docker("image", "inspect", ref, check=False, timeout=30).returncode == 0


def image_id(ref: str) -> Optional[str]:
    done = docker("image", "inspect", "--format", "{{.Id}}", ref, check=False, timeout=30)
    return done.stdout.strip() if done.returncode == 0 else None


def image_label(ref: str, label: str) -> Optional[str]:
    """A label's value on a local image ('' when the image lacks it), None when there is no such image."""
    done = docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', ref,
                  check=False, timeout=30)
    if done.returncode != 0:
        return None
    value = done.stdout.strip()
    return "" if value == "<no value>" else value


def image_size(ref: str) -> Optional[int]:
    """The size the engine reports for a local image, in bytes; None when there is no such image."""
    done = docker("image", "inspect", "--format", "{{.Size}}", ref, check=False, timeout=30)
    out = done.stdout.strip()
    return int(out) if done.returncode == 0 and out.isdigit() else None


def try_pull(ref: str, log) -> bool:
    """Pull the real image; False when the engine cannot reach its registry (the log says why)."""
    try:
        host.logged(["docker", "pull", ref], log, timeout=900, what=f"docker pull {ref}")
        return True
    except WorkshopError:
        return False
