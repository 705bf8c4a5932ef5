"""The Docker engine the lecture uses: asking it things (version, builder, image store, images) and
running the docker client against the engine prepare recorded. Making an engine answer where none
does is scripts/prepare's job (provision/engine_install.py); an engine that answers and that the
workshop did not start is used as it is, never restarted."""

import json
import os
import re
import subprocess
from pathlib import Path
from typing import NamedTuple

from workshop.cli import WorkshopError
from workshop.machine import host
from workshop.paths import state


def endpoint_file() -> Path:
    """Where prepare records the engine the workshop uses (its DOCKER_HOST and where that came from)."""
    return state() / "engine-endpoint"


# The engine the workshop uses, recorded by the first `prepare` that finds or starts one:
# scripts/lib/engine-env.sh exports it as DOCKER_HOST (and drops DOCKER_CONTEXT) for every script
# and box, whatever DOCKER_HOST or DOCKER_CONTEXT the presenter's shell holds later.


def client() -> str | None:
    """The docker client on PATH (scripts/lib/bootstrap.sh puts the workshop's own engine's client first)."""
    return host.which("docker")


def docker(*args: str, timeout: float = 60, check: bool = True, input: str | None = None):
    """Run the docker client briefly and return the CompletedProcess (text output)."""
    program = client()
    if not program:
        raise WorkshopError(
            "the docker command is not installed: install Docker (Docker Desktop, or Docker "
            "Engine on Linux), or run scripts/prepare as root on Linux"
        )
    return host.run(
        [program, *args],
        timeout=timeout,
        check=check,
        input=input,
        env=environment(),
        fix="if the engine stopped, run scripts/prepare engine",
    )


def logged(*args: str, log: Path, what: str, timeout: float = 1800, stdin=subprocess.DEVNULL) -> None:
    """Run the docker client for long (a build, a push, a pull), its output appended to log."""
    host.logged([client() or "docker", *args], log, timeout=timeout, what=what, stdin=stdin, env=environment())


def output(*args: str, timeout: float = 60) -> str | None:
    """The docker client's output, or None when docker is missing, fails or takes too long (never raises)."""
    try:
        done = docker(*args, timeout=timeout, check=False)
    except WorkshopError:
        return None
    return done.stdout if done.returncode == 0 else None


def server_version(timeout: float = 20) -> str | None:
    """The engine's version when it answers, else None."""
    version = (output("version", "--format", "{{.Server.Version}}", timeout=timeout) or "").strip()
    return version or None


class Facts(NamedTuple):
    """What differs between the engines people have, as the deck and the tools need to know."""

    version: str  # e.g. 28.5.2
    client: str  # the CLI's version, e.g. 29.9.3
    builder: str  # "BuildKit" or "legacy"
    image_store: str  # "containerd" or the graph driver, e.g. "overlay2"
    cgroup_version: str
    os_type: str
    architecture: str
    api: str = "?"  # the engine's API version, e.g. 1.51

    @property
    def containerd_store(self) -> bool:
        return self.image_store == "containerd"

    def describe(self) -> str:
        return (
            f"Docker {self.version} (client {self.client}), {self.builder} builder, "
            f"{self.image_store} image store, cgroup v{self.cgroup_version}"
        )


def version_tuple(version: str) -> tuple:
    """(28, 5) of '28.5.2+dfsg4'; (0, 0) when it is not a version."""
    numbers = re.match(r"(\d+)\.(\d+)", version or "")
    return (int(numbers.group(1)), int(numbers.group(2))) if numbers else (0, 0)


def facts(timeout: float = 20) -> Facts | None:
    """The engine's facts, or None when no engine answers."""
    text = output("version", "--format", "{{json .}}", timeout=timeout)
    info_text = output("info", "--format", "{{json .}}", timeout=timeout)
    if not text or not info_text:
        return None
    try:
        version, info = json.loads(text), json.loads(info_text)
    except ValueError:
        return None
    server = (version.get("Server") or {}).get("Version", "")
    client_version = (version.get("Client") or {}).get("Version", "")
    status = dict(info.get("DriverStatus") or [])
    store = "containerd" if status.get("driver-type") == "io.containerd.snapshotter.v1" else info.get("Driver", "?")
    plugins = output("buildx", "version", timeout=timeout)
    # BuildKit is what `docker build` uses when the client has buildx and the engine is 23 or newer
    builder = "BuildKit" if plugins and version_tuple(server) >= (23, 0) else "legacy"
    return Facts(
        server,
        client_version,
        builder,
        store,
        str(info.get("CgroupVersion", "?")),
        info.get("OSType", "?"),
        info.get("Architecture", "?"),
        (version.get("Server") or {}).get("ApiVersion", "?"),
    )


def recorded_endpoint() -> dict | None:
    """{'host': 'unix:///var/run/docker.sock', 'from': 'context default'} once prepare recorded one."""
    try:
        values = dict(line.split("=", 1) for line in endpoint_file().read_text().splitlines() if "=" in line)
    except OSError:
        return None
    return (
        {"host": values.get("DOCKER_HOST", ""), "from": values.get("FROM", "?")} if values.get("DOCKER_HOST") else None
    )


def environment() -> dict[str, str]:
    """The environment a program that talks to the engine (the docker client, kind) runs in: this
    process's, with the engine prepare recorded as DOCKER_HOST and no DOCKER_CONTEXT. The fence on the
    Python side, as scripts/lib/engine-env.sh is on the shell side; read at each call, never at import."""
    env = dict(os.environ)
    known = recorded_endpoint()
    if known:
        env["DOCKER_HOST"] = known["host"]
        env.pop("DOCKER_CONTEXT", None)
    return env


def record_endpoint() -> dict | None:
    """Record the endpoint of the engine that answers now, unless one is recorded already."""
    known = recorded_endpoint()
    if known:
        return known
    found = (output("context", "inspect", "--format", "{{.Endpoints.docker.Host}}", timeout=20) or "").strip()
    if not found:
        return None
    if os.environ.get("DOCKER_HOST"):
        source = "DOCKER_HOST"
    else:
        source = "context " + ((output("context", "show", timeout=20) or "").strip() or "default")
    state().mkdir(parents=True, exist_ok=True)
    endpoint_file().write_text(f"DOCKER_HOST={found}\nFROM={source}\n")
    os.environ["DOCKER_HOST"] = found
    os.environ.pop("DOCKER_CONTEXT", None)
    return recorded_endpoint()


def image_exists(ref: str) -> bool:
    return docker("image", "inspect", ref, check=False, timeout=30).returncode == 0


def image_id(ref: str) -> str | None:
    done = docker("image", "inspect", "--format", "{{.Id}}", ref, check=False, timeout=30)
    return done.stdout.strip() if done.returncode == 0 else None


def image_label(ref: str, label: str) -> str | None:
    """A label's value on a local image ('' when the image lacks it), None when there is no such image."""
    done = docker(
        "image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', ref, check=False, timeout=30
    )
    if done.returncode != 0:
        return None
    value = done.stdout.strip()
    return "" if value == "<no value>" else value


def image_size(ref: str) -> int | None:
    """The size the engine reports for a local image, in bytes; None when there is no such image."""
    done = docker("image", "inspect", "--format", "{{.Size}}", ref, check=False, timeout=30)
    out = done.stdout.strip()
    return int(out) if done.returncode == 0 and out.isdigit() else None


def try_pull(ref: str, log) -> bool:
    """Pull the real image; False when the engine cannot reach its registry (the log says why)."""
    try:
        logged("pull", ref, log=log, timeout=900, what=f"docker pull {ref}")
        return True
    except WorkshopError:
        return False
