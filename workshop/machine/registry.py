"""The local image registry the deck and the Kubernetes manifests address as localhost:5001.

It is the registry:2 image in a container named workshop-registry (kind's documented local-registry
setup): pulled where the engine can pull, else the stand-in prepare builds from Debian's
docker-registry. Without that image, Debian's docker-registry binary runs in the background with
its config, storage, pid file and log under .workshop/.
up(), down() and status() are idempotent; down() stops only what up() started."""

import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from workshop import ledger, names
from workshop.cli import Note, WorkshopError, quiet
from workshop.machine import host, ports, processes
from workshop.machine.engine import ENGINE as engine
from workshop.machine.engines import Run
from workshop.paths import state


def config_file() -> Path:
    return state() / "registry.yml"


def storage() -> Path:
    return state() / "registry"


def pid_file() -> Path:
    return state() / "registry.pid"


HOST, PORT, ADDRESS, CONTAINER = names.REGISTRY_HOST, names.REGISTRY_PORT, names.REGISTRY, names.REGISTRY_CONTAINER
INSIDE_PORT = 5000  # where registry:2 listens in its container; kind's nodes reach it there
KIND_NETWORK = "kind"
RUN_LABEL = names.RUN_LABEL
IMAGE = "registry:2"
LOG = "registry.log"
PROGRAM = "docker-registry"
WAIT_SECONDS = 20

CONFIG_TEXT = """# written by workshop/machine/registry.py; the workshop's local image registry
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

# Every kind of manifest a push can leave: Docker's and OCI's, single images and indexes
# (BuildKit pushes an index holding the image and its attestation manifests).
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def request(path: str, method: str = "GET", headers: dict[str, str] | None = None, timeout: float = 10):
    """An HTTP request to the registry on 127.0.0.1:5001, never through a proxy (raises urllib's errors)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(
        urllib.request.Request(f"http://{HOST}:{PORT}{path}", method=method, headers=headers or {}), timeout=timeout
    )


def digest(repository: str, tag: str) -> str | None:
    """The digest REPOSITORY:TAG points to in the registry, or None when it has no such tag."""
    try:
        with request(f"/v2/{repository}/manifests/{tag}", "HEAD", {"Accept": MANIFEST_ACCEPT}) as answer:
            return answer.headers.get("Docker-Content-Digest")
    except (urllib.error.URLError, OSError):
        return None


def status(timeout: float = 2) -> bool:
    """Does something answer GET /v2/ on 127.0.0.1:5001 like a registry (200, or 401 when it wants a login)?"""
    try:
        with request("/v2/", timeout=timeout) as answer:
            return answer.status == 200
    except urllib.error.HTTPError as error:
        return error.code == 401 and bool(error.headers.get("Docker-Distribution-Api-Version"))
    except (OSError, ValueError):
        return False


def _wait(seconds: float, pid: int | None = None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if status():
            return True
        if pid is not None and not processes.alive(pid):
            return False
        time.sleep(0.2)
    return False


def our_pid() -> int | None:
    """The pid of the docker-registry process up() started, if it still runs."""
    return processes.recorded(pid_file())


def container_state() -> str | None:
    """'running', 'exited', ... for the workshop-registry container; None when there is none."""
    if not engine.server_version():
        return None
    try:
        found = engine.container(CONTAINER)
    except WorkshopError:  # the engine does not say: nothing to use
        return None
    return found.state if found else None


def ours() -> bool:
    """Is the registry that answers the one this checkout's prepare started (not merely one on the port)?"""
    if our_pid():  # its pid file, written when it was started, names this very process
        return True
    entry = ledger.find("registry", ADDRESS) or {}
    if entry.get("how") != "container":
        return False
    try:
        found = engine.container(CONTAINER)
    except WorkshopError:
        return False
    if found is None:
        return False
    # the id once it was recorded; before that (a prepare stopped during `docker run`), the token the
    # intent recorded and the container carries as a label
    token = found.labels.get(RUN_LABEL)
    return found.id == entry.get("id") or (token is not None and token == entry.get("token"))


def describe() -> str:
    pid = our_pid()
    if pid:
        return f"{PROGRAM} pid {pid}"
    if container_state() == "running":
        return f"container {CONTAINER}"
    return "not started by the workshop"


def _can_use_official_image(log) -> bool:
    return engine.image_exists(IMAGE) or engine.try_pull(IMAGE, log)


def _start_container(note: Note) -> str:
    if container_state() is not None and ours():  # left by a prepare that was stopped
        engine.remove_container(CONTAINER)
    if container_state() is not None:
        raise WorkshopError(
            f"a container named {CONTAINER} exists that this checkout did not start: if it is a "
            f"leftover of the workshop's, remove it (docker rm -f {CONTAINER}), then run "
            f"scripts/prepare registry again"
        )
    # Recorded before it exists: a prepare stopped during `docker run` or the wait leaves a container that
    # reset and prepare know as ours by the token it carries.
    token = uuid.uuid4().hex
    ledger.record("registry", ADDRESS, how="container", id=None, token=token)
    # --rm: when it or its engine stops, it goes with its storage (prepare pushes the lecture's images again)
    engine.run(
        Run(
            IMAGE,
            detach=True,
            remove=True,
            publish=[f"{HOST}:{PORT}:{INSIDE_PORT}"],
            name=CONTAINER,
            labels={RUN_LABEL: token},
        )
    )
    if engine.network_exists(KIND_NETWORK):  # a kind cluster's nodes reach it by name there
        engine.network_connect(KIND_NETWORK, CONTAINER)
    if not _wait(WAIT_SECONDS):
        raise WorkshopError(f"the {CONTAINER} container does not answer on {ADDRESS}; see `docker logs {CONTAINER}`")
    found = engine.container(CONTAINER)
    ident = found.id if found else ""
    ledger.record("registry", ADDRESS, how="container", id=ident, token=token)
    return f"{IMAGE} container {CONTAINER} answering on {ADDRESS}"


def _start_binary(note: Note, log) -> str:
    program = host.ensure_program(PROGRAM, "docker-registry", log)
    storage().mkdir(parents=True, exist_ok=True)
    config_file().write_text(CONFIG_TEXT.format(storage=storage(), host=HOST, port=PORT))
    pid = processes.start([program, "serve", str(config_file())], log, pid_file())
    ledger.record("registry", ADDRESS, how="process", pid=pid, storage=str(storage()))
    note(f"started {PROGRAM} (pid {pid}), log in {host.shown(log)}")
    if not _wait(WAIT_SECONDS, pid):
        tail = host.last_line(log.read_text(errors="replace"))
        raise WorkshopError(f"{PROGRAM} did not answer on {ADDRESS} ({tail[:160]}); see {host.shown(log)}")
    return f"Debian {PROGRAM} (pid {pid}) answering on {ADDRESS}, storage {host.shown(storage())}"


def up(note: Note = quiet) -> str:
    """Make a registry answer on localhost:5001; return a one-line summary."""
    if status():
        pid = our_pid()
        if pid and ledger.find("registry", ADDRESS) is None:  # started before the workshop kept a record
            ledger.record("registry", ADDRESS, how="process", pid=pid, storage=str(storage()))
        return f"answering on {ADDRESS} ({describe()})"
    if ports.busy(PORT, HOST):
        raise WorkshopError(
            f"port {PORT} on {HOST} is taken by something that is not an image registry; "
            f"stop it and run scripts/prepare again"
        )
    log = host.log_path(LOG)
    # the registry:2 image (pulled, or its stand-in) in a container, as kind's documentation sets it up,
    # so kind's nodes reach it on their network; Debian's docker-registry process only as a last resort
    if container_state() is not None or _can_use_official_image(log):
        return _start_container(note)
    return _start_binary(note, log)


def down() -> str:
    """Stop what up() started (the workshop-registry container or the pid-file process); keep the storage."""
    stopped = []
    pid = our_pid()
    if processes.stop_recorded(pid_file(), timeout=10):
        stopped.append(f"{PROGRAM} pid {pid}")
    entry = ledger.find("registry", ADDRESS) or {}
    if entry.get("how") == "container" and container_state() is not None and ours():
        engine.remove_container(CONTAINER)
        stopped.append(f"container {CONTAINER}")
    if stopped:
        ledger.forget("registry", ADDRESS)
    return "stopped " + " and ".join(stopped) if stopped else "nothing of the workshop's was running"
