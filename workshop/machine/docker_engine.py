"""Docker, the implementation of engines.Engine: every docker command line the workshop runs outside the
deck's own boxes is written here, run by the docker client against the engine prepare recorded.
Making an engine answer where none does is scripts/prepare's job (provision/engine_install.py); an
engine that answers and that the workshop did not start is used as it is, never restarted."""

import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.machine import host
from workshop.machine.engines import Container, Facts, Run, version_tuple
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


def try_pull(ref: str, log: Path) -> bool:
    """Pull the real image; False when the engine cannot reach its registry (the log says why)."""
    try:
        logged("pull", ref, log=log, timeout=900, what=f"docker pull {ref}")
        return True
    except WorkshopError:
        return False


def server_platform() -> str | None:
    return (output("version", "--format", "{{.Server.Os}}/{{.Server.Arch}}") or "").strip() or None


def image_platform(ref: str) -> str | None:
    return (output("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", ref, timeout=30) or "").strip() or None


def image_tag_count(ref: str) -> int | None:
    out = (output("image", "inspect", "--format", "{{len .RepoTags}}", ref, timeout=30) or "").strip()
    return int(out) if out.isdigit() else None


def build(
    context: Path,
    *,
    tag: str,
    log: Path,
    what: str,
    dockerfile: Path | None = None,
    build_args: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    iidfile: Path | None = None,
    no_cache: bool = False,
    timeout: float = 1800,
) -> None:
    """docker build with the client's default builder (BuildKit on a current Docker, the legacy one on
    Debian's 20.10: what the deck's boxes use too)."""
    argv = ["build", "-t", tag]
    argv += ["--iidfile", str(iidfile)] if iidfile else []
    argv += ["-f", str(dockerfile)] if dockerfile else []
    argv += ["--no-cache"] if no_cache else []
    for key, value in (build_args or {}).items():
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in (labels or {}).items():
        argv += ["--label", f"{key}={value}"]
    logged(*argv, str(context), log=log, timeout=timeout, what=what)


def import_rootfs(tar: Path, ref: str, changes: Sequence[str], log: Path) -> None:
    argv = ["import"]
    for change in changes:
        argv += ["--change", change]
    with open(tar, "rb") as handle:
        logged(*argv, "-", ref, log=log, timeout=600, what=f"docker import {ref}", stdin=handle)


def tag(source: str, target: str) -> None:
    docker("tag", source, target)


def push(ref: str, log: Path | None = None, timeout: float = 600) -> None:
    if log is None:
        docker("push", ref, timeout=timeout)
    else:
        logged("push", ref, log=log, timeout=timeout, what=f"pushing {ref}")


def remove_image(ref: str) -> bool:
    return docker("rmi", ref, check=False, timeout=120).returncode == 0


def run(spec: Run, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["run"]
    flags = (
        (spec.detach, "-d"),
        (spec.remove, "--rm"),
        (spec.read_only, "--read-only"),
    )
    argv += [flag for on, flag in flags if on]
    options = (
        ("--name", spec.name),
        ("--network", spec.network),
        ("--entrypoint", spec.entrypoint),
        ("--restart", spec.restart),
        ("--user", spec.user),
        ("--memory", spec.memory),
    )
    argv += [word for option, value in options if value for word in (option, value)]
    for key, value in spec.labels.items():
        argv += ["--label", f"{key}={value}"]
    for published in spec.publish:
        argv += ["-p", published]
    argv += ["--cap-drop", "ALL"] if spec.drop_capabilities else []
    argv += ["--security-opt", "no-new-privileges"] if spec.no_new_privileges else []
    return docker(*argv, spec.image, *spec.command, timeout=timeout, check=check)


CONTAINER_FORMAT = (
    "{{json .Id}} {{json .State.Status}} {{json .Config.Labels}} "
    "{{json .HostConfig.PortBindings}} {{json .NetworkSettings.Networks}}"
)


def container(name: str, timeout: float = 30) -> Container | None:
    found = docker("container", "inspect", "--format", CONTAINER_FORMAT, name, timeout=timeout, check=False)
    if found.returncode != 0:
        if "no such" in found.stderr.lower():
            return None
        raise WorkshopError(
            f"docker did not say whether container {name} is there "
            f"({(host.last_line(found.stderr) or 'no answer')[:120]}): start the engine, then run this again"
        )
    ident, status, labels, ports, networks = (json.loads(part) for part in found.stdout.split(" ", 4))
    addresses = [binding.get("HostIp", "") for bindings in (ports or {}).values() for binding in bindings or []]
    return Container(ident, status, labels or {}, addresses, sorted(networks or {}))


def container_ids(timeout: float = 20) -> set[str] | None:
    out = output("ps", "-aq", "--no-trunc", timeout=timeout)
    return None if out is None else set(out.split())


def container_names(ids: Iterable[str]) -> dict[str, str]:
    chosen = sorted(ids)
    if not chosen:
        return {}
    out = output("inspect", "--format", "{{.Id}} {{.Name}}", *chosen) or ""
    return {ident: name.lstrip("/") for ident, _, name in (line.partition(" ") for line in out.splitlines())}


def containers_publishing(port: int) -> list[str]:
    return (output("ps", "--filter", f"publish={port}", "--format", "{{.Names}}") or "").split()


def remove_container(*names: str) -> None:
    if names:
        # -v: the anonymous volumes the container's image declared go with it (the registry's holds every
        # push); named volumes stay, whoever made them
        docker("rm", "-f", "-v", *names, timeout=120, check=False)


def exec(container: str, argv: Sequence[str], input: str | None = None) -> None:
    docker("exec", *(["-i"] if input is not None else []), container, *argv, input=input)


MIB = {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0, "B": 1 / 2**20}


def stats() -> list[tuple[str, float, float]]:
    out = docker("stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}\t{{.CPUPerc}}").stdout
    found = []
    for line in out.splitlines():
        if line.count("\t") != 2:
            continue
        name, usage, cpu = line.split("\t")
        used = usage.split("/")[0].strip()  # "12.5MiB / 7.7GiB"
        unit = next((unit for unit in MIB if used.endswith(unit)), "")
        try:
            mib = float(used[: -len(unit)]) * MIB[unit] if unit else 0.0
            share = float(cpu.rstrip("%") or 0)
        except ValueError:
            continue
        found.append((name, mib, share))
    return found


def network_exists(name: str) -> bool:
    return output("network", "inspect", name) is not None


def network_connect(network: str, container: str) -> None:
    docker("network", "connect", network, container)


def network_disconnect(network: str, container: str) -> None:
    docker("network", "disconnect", network, container, check=False)


def network_remove(name: str) -> bool:
    return docker("network", "rm", name, check=False).returncode == 0


def volume_exists(name: str) -> bool:
    return output("volume", "inspect", "--format", "{{.Name}}", name, timeout=30) is not None
