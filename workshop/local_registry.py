"""The local image registry the deck and the Kubernetes manifests address as localhost:5001.

Where the engine can pull, it is the official registry:2 in a container named workshop-registry
(kind's documented local-registry setup). Where it cannot, it is Debian's docker-registry binary,
run in the background with its config, storage, pid file and log under .workshop/.
up(), down() and status() are idempotent; down() stops only what up() started."""
import os
import signal
import time
import urllib.error
import urllib.request
from typing import Callable, Optional, Sequence

from . import docker_engine, hostcmd
from .cli import WorkshopError, run
from .paths import STATE

HOST = "127.0.0.1"
PORT = 5001
ADDRESS = f"localhost:{PORT}"
CONTAINER = "workshop-registry"
IMAGE = "registry:2"
CONFIG = STATE / "registry.yml"
STORAGE = STATE / "registry"
PID_FILE = STATE / "registry.pid"
LOG = "registry.log"
PROGRAM = "docker-registry"
WAIT_SECONDS = 20

CONFIG_TEXT = """# written by workshop/local_registry.py; the workshop's local image registry
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: {host}:{port}
  headers:
    X-Content-Type-Options: [nosniff]
"""

Note = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def status(timeout: float = 2) -> bool:
    """Does something answer GET /v2/ on 127.0.0.1:5001 like a registry (200, or 401 when it wants a login)?"""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy
    try:
        with opener.open(f"http://{HOST}:{PORT}/v2/", timeout=timeout) as answer:
            return answer.status == 200
    except urllib.error.HTTPError as error:
        return error.code == 401 and bool(error.headers.get("Docker-Distribution-Api-Version"))
    except (OSError, ValueError):
        return False


def _port_taken() -> bool:
    import socket
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, PORT)) == 0


def _wait(seconds: float, pid: Optional[int] = None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if status():
            return True
        if pid is not None and not hostcmd.pid_alive(pid):
            return False
        time.sleep(0.2)
    return False


def our_pid() -> Optional[int]:
    """The pid of the docker-registry process up() started, if it still runs."""
    pid = hostcmd.read_pid(PID_FILE)
    return pid if pid and hostcmd.process_named(pid, PROGRAM) else None


def container_state() -> Optional[str]:
    """'running', 'exited', ... for the workshop-registry container; None when there is none."""
    if not docker_engine.server_version():
        return None
    done = docker_engine.docker("container", "inspect", "--format", "{{.State.Status}}", CONTAINER, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def describe() -> str:
    pid = our_pid()
    if pid:
        return f"{PROGRAM} pid {pid}"
    if container_state() == "running":
        return f"container {CONTAINER}"
    return "not started by the workshop"


def _can_use_official_image(log) -> bool:
    return docker_engine.image_exists(IMAGE) or docker_engine.try_pull(IMAGE, log)


def _start_container(note: Note) -> str:
    if container_state() is not None:
        docker_engine.docker("start", CONTAINER)
    else:
        docker_engine.docker("run", "-d", "--restart=always", "-p", f"{HOST}:{PORT}:5000",
                             "--name", CONTAINER, IMAGE)
    if not _wait(WAIT_SECONDS):
        raise WorkshopError(f"the {CONTAINER} container does not answer on {ADDRESS}; see `docker logs {CONTAINER}`")
    return f"{IMAGE} container {CONTAINER} answering on {ADDRESS}"


def _start_binary(note: Note, log) -> str:
    program = hostcmd.ensure_program(PROGRAM, "docker-registry", log)
    STORAGE.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(CONFIG_TEXT.format(storage=STORAGE, host=HOST, port=PORT))
    pid = hostcmd.start_daemon([program, "serve", str(CONFIG)], log, PID_FILE)
    note(f"started {PROGRAM} (pid {pid}), log in {hostcmd.shown(log)}")
    if not _wait(WAIT_SECONDS, pid):
        tail = hostcmd.last_line(log.read_text(errors="replace"))
        raise WorkshopError(f"{PROGRAM} did not answer on {ADDRESS} ({tail[:160]}); see {hostcmd.shown(log)}")
    return f"Debian {PROGRAM} (pid {pid}) answering on {ADDRESS}, storage {hostcmd.shown(STORAGE)}"


def up(note: Note = _quiet) -> str:
    """Make a registry answer on localhost:5001; return a one-line summary."""
    if status():
        return f"answering on {ADDRESS} ({describe()})"
    if _port_taken():
        raise WorkshopError(f"port {PORT} on {HOST} is taken by something that is not an image registry; "
                            f"stop it and run scripts/prepare again")
    log = hostcmd.log_path(LOG)
    if container_state() is not None or _can_use_official_image(log):
        return _start_container(note)
    return _start_binary(note, log)


def down() -> str:
    """Stop what up() started (the workshop-registry container or the pid-file process); keep the storage."""
    stopped = []
    pid = our_pid()
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while hostcmd.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if hostcmd.pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped.append(f"{PROGRAM} pid {pid}")
    PID_FILE.unlink(missing_ok=True)
    if container_state() is not None:
        docker_engine.docker("rm", "-f", CONTAINER)
        stopped.append(f"container {CONTAINER}")
    return "stopped " + " and ".join(stopped) if stopped else "nothing of the workshop's was running"


def main(argv: Sequence[str]) -> int:
    action = argv[0] if argv else "status"
    if action == "up":
        print(up(print))
    elif action == "down":
        print(down())
    elif action == "status":
        answering = status()
        print(f"{ADDRESS}: {'answering' if answering else 'not answering'} ({describe()})")
        return 0 if answering else 1
    else:
        raise WorkshopError(f"unknown action {action!r}: use up, down or status")
    return 0


if __name__ == "__main__":
    run(main, "registry")
