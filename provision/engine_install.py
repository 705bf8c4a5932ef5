"""The Docker engines the workshop can install and run itself, on a Linux machine where it is
root and no engine answers (CI, development machines). A laptop's own Docker is never touched.

    current   what presenters and students have today: dockerd 28.5 with BuildKit and the
              containerd image store, buildx, and the Docker CLI 29. The engine's .debs come
              from Debian's testing suite (pinned in current_docker/debs.tsv, unpacked into a
              private prefix); the CLI is built from the Go module proxy (current_docker/cli).
    debian    Debian 12's own docker.io 20.10 (legacy builder, classic image store), which
              real users still have.

Only one engine runs at a time (two would fight over docker0): starting one kind stops the
other, but only an engine this module started itself (its pid and start time are recorded in
MACHINE_HOME/engine.json, workshop/machine/installed.py). What it started and installed lives under
MACHINE_HOME (WORKSHOP_MACHINE_HOME, default /var/lib/cs198-workshop), and MACHINE_HOME/engine.env tells
every workshop command and shell which docker client to use."""

import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

from provision import apt_sources
from workshop import paths, versions
from workshop.cli import Note, WorkshopError, quiet
from workshop.machine import host, installed, processes
from workshop.machine.engine import ENGINE as engine
from workshop.machine.installed import recorded, stop

STACK = Path(__file__).resolve().parent / "current_docker"
CLI_MODULE = "github.com/docker/cli"
KINDS = ("current", "debian")
# bookworm's runc: forky's needs a newer glibc than bookworm has; tini-static is docker-init;
# iptables: dockerd's bridge network will not start without it (a fresh machine has none)
HOST_PACKAGES = {"/usr/sbin/runc": "runc", "/usr/bin/tini-static": "tini", "/usr/sbin/iptables": "iptables"}
SANDBOXES = Path("/run/docker/netns")  # both engines' exec-root keeps a container's network here


class Deb(NamedTuple):
    package: str
    version: str
    path: str
    sha256: str
    size: int


def pinned_debs(listing: Path = STACK / "debs.tsv") -> list[Deb]:
    debs = []
    for line in listing.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, version, path, sha256, size = line.split("\t")
            debs.append(Deb(package, version, path, sha256, int(size)))
    return debs


def engine_version() -> str:
    """The upstream version of the dockerd installed (28.5.2; debs.tsv holds 28.5.2+dfsg4-5)."""
    return versions.docker_engine_version()


class Layout(NamedTuple):
    """Where the current stack lives on the machine."""

    home: Path

    @property
    def prefix(self) -> Path:
        return installed.stack_prefix(self.home)

    @property
    def client_dir(self) -> Path:
        return self.home / f"docker-cli-{versions.docker_cli_version()}"

    @property
    def docker_config(self) -> Path:
        return self.home / "docker-config"

    @property
    def data_root(self) -> Path:
        return self.home / "docker-data"

    @property
    def daemon_json(self) -> Path:
        return self.home / "daemon.json"

    @property
    def log(self) -> Path:
        return self.home / "dockerd.log"


def daemon_config(layout: Layout) -> dict:
    """dockerd's configuration: BuildKit and the containerd image store, bookworm's runc and tini."""
    return {
        "features": {"containerd-snapshotter": True, "buildkit": True},
        "runtimes": {"bookworm-runc": {"path": "/usr/sbin/runc"}},  # `runc` itself is a reserved name
        "default-runtime": "bookworm-runc",
        "init-path": "/usr/bin/tini-static",
        "userland-proxy-path": str(layout.prefix / "usr/sbin/docker-proxy"),
        "exec-opts": ["native.cgroupdriver=cgroupfs"],
        "data-root": str(layout.data_root),
    }


def dockerd_env(layout: Layout) -> dict[str, str]:
    """The prefix first on PATH: dockerd finds its containerd there, containerd its shim."""
    path = (
        f"{layout.prefix}/usr/sbin:{layout.prefix}/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    )
    # BuildKit runs `runc` from PATH whatever the default runtime is: name bookworm's outright
    return {**os.environ, "PATH": path, "DOCKER_BUILDKIT_RUNC_COMMAND": "/usr/sbin/runc"}


# ---------------------------------------------------------------- installing


def _download(url: str, target: Path, deb: Deb) -> None:
    opener = urllib.request.build_opener()
    try:
        with opener.open(url, timeout=120) as answer, open(target, "wb") as out:
            shutil.copyfileobj(answer, out)
    except OSError as error:
        raise WorkshopError(
            f"could not download {deb.package} {deb.version} from {url} ({error}); "
            f"check that the Debian mirror answers, then run scripts/prepare engine again"
        ) from None


def fetch_debs(target: Path, note: Note = quiet, mirror: str | None = None) -> list[str]:
    """Download each pinned .deb, check its size and sha256, unpack it into target."""
    mirror = (mirror or apt_sources.debian_mirror("bookworm")).rstrip("/")
    cache = installed.machine_home() / "debs"
    cache.mkdir(parents=True, exist_ok=True)
    unpacked = []
    for deb in pinned_debs():
        file = cache / Path(deb.path).name
        if not file.is_file() or hashlib.sha256(file.read_bytes()).hexdigest() != deb.sha256:
            note(f"downloading {deb.package} {deb.version}")
            _download(f"{mirror}/{deb.path}", file, deb)
        data = file.read_bytes()
        if len(data) != deb.size or hashlib.sha256(data).hexdigest() != deb.sha256:
            file.unlink()
            raise WorkshopError(
                f"{deb.package} {deb.version} from {mirror} does not match its pinned sha256: "
                f"the mirror serves another file; update provision/current_docker/debs.tsv"
            )
        host.run(["dpkg-deb", "-x", str(file), str(target)], timeout=300, what=f"dpkg-deb -x {file.name}")
        unpacked.append(f"{deb.package} {deb.version}")
    return unpacked


def build_cli(output: Path, note: Note = quiet) -> None:
    """The Docker CLI from the Go module proxy: its module has no go.mod (it ships vendor.mod), so
    a writable copy gets one, and the wrapper module in current_docker/cli builds cmd/docker from it."""
    go = host.go_program(f"the Docker CLI {versions.docker_cli_version()}")
    log = host.log_path("docker-cli-build.log")
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false"}
    with tempfile.TemporaryDirectory(prefix="workshop-docker-cli-") as scratch:
        work = Path(scratch)
        note(f"building the Docker CLI {versions.docker_cli_version()} from the Go module proxy (about a minute, once)")
        done = host.run(
            [go, "mod", "download", "-json", f"{CLI_MODULE}@v{versions.docker_cli_version()}+incompatible"],
            cwd=work,
            env=env,
            timeout=900,
            what="go mod download of the Docker CLI",
            fix="the Go module proxy must be reachable",
        )
        source = Path(json.loads(done.stdout)["Dir"])
        copy = work / "src-cli"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("vendor"))
        for path in [copy, *copy.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)  # the module cache is read-only
        (copy / "vendor.mod").rename(copy / "go.mod")
        (copy / "vendor.sum").rename(copy / "go.sum")
        for name in ("go.mod", "go.sum"):
            shutil.copy(STACK / "cli" / name, work / name)
        ldflags = f"-X {CLI_MODULE}/cli/version.Version={versions.docker_cli_version()} -X {CLI_MODULE}/cli/version.GitCommit=modproxy"
        output.parent.mkdir(parents=True, exist_ok=True)
        host.logged(
            [
                go,
                "build",
                "-mod=readonly",
                "-trimpath",
                "-tags",
                "grpcnotrace",
                "-ldflags",
                ldflags,
                "-o",
                f"{output}.tmp",
                f"{CLI_MODULE}/cmd/docker",
            ],
            log,
            timeout=1800,
            what=f"building the Docker CLI {versions.docker_cli_version()}",
            env=env,
            cwd=work,
        )
        os.replace(f"{output}.tmp", output)


def install_current(layout: Layout, note: Note = quiet) -> None:
    """Unpack the pinned engine and build the CLI, once; a second call only checks."""
    missing = sorted({package for program, package in HOST_PACKAGES.items() if not os.access(program, os.X_OK)})
    if missing:
        note(f"installing bookworm's {', '.join(missing)}")
        host.apt_install(missing, host.log_path("apt.log"), recommends=False)
    stamp = layout.prefix / ".unpacked"
    want = hashlib.sha256((STACK / "debs.tsv").read_bytes()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != want:
        shutil.rmtree(layout.prefix, ignore_errors=True)
        layout.prefix.mkdir(parents=True)
        note(f"unpacking {', '.join(fetch_debs(layout.prefix, note))} into {layout.prefix}")
        stamp.write_text(want)
    client = layout.client_dir / "docker"
    if not os.access(client, os.X_OK):
        build_cli(client, note)
    layout.docker_config.mkdir(parents=True, exist_ok=True)
    plugins = [str(layout.prefix / "usr/libexec/docker/cli-plugins")]
    (layout.docker_config / "config.json").write_text(json.dumps({"cliPluginsExtraDirs": plugins}) + "\n")
    layout.daemon_json.write_text(json.dumps(daemon_config(layout), indent=2) + "\n")


def install_debian(note: Note = quiet) -> Path:
    """Debian 12's docker.io, with apt; returns a folder holding only its client, as `docker`."""
    if not os.access("/usr/sbin/dockerd", os.X_OK) or not os.access("/usr/bin/docker", os.X_OK):
        note("installing Debian's docker.io (about a minute, once)")
        host.apt_install(["docker.io"], host.log_path("apt.log"))
    client_dir = installed.machine_home() / "docker-cli-debian"
    client_dir.mkdir(parents=True, exist_ok=True)
    link = client_dir / "docker"
    if not link.is_symlink():
        link.unlink(missing_ok=True)
        link.symlink_to("/usr/bin/docker")
    return client_dir


# ---------------------------------------------------------------- running


def write_env(client_dir: Path, docker_config: Path | None) -> None:
    """engine.env: which docker the workshop's commands and shells use (scripts/lib/bootstrap.sh reads it)."""
    lines = [f"WORKSHOP_DOCKER_BIN={client_dir}"]
    if docker_config:
        lines.append(f"DOCKER_CONFIG={docker_config}")
    installed.env_file().write_text("\n".join(lines) + "\n")
    installed.apply_env()


def release_dead_sandboxes(note: Note = quiet, where: Path = SANDBOXES) -> int:
    """Let go of the container networks a killed dockerd left behind; returns how many.

    A dockerd killed outright (a machine's processes ended without a shutdown) leaves each
    container's network namespace mounted under /run/docker/netns, its veth still on docker0
    holding the container's address: the next engine hands out the same 172.17.0.2, and the
    host's packets reach the dead one. start() calls it only while no dockerd runs; it lets go
    only of namespaces no live process is in (unmounting the last hold frees it and its veth)."""
    if not where.is_dir():
        return 0
    in_use = processes.network_namespaces_in_use()
    released = 0
    for sandbox in sorted(where.iterdir()):
        try:
            inode = sandbox.stat().st_ino
        except OSError:
            continue
        if inode in in_use:
            continue
        if host.run(["umount", str(sandbox)], check=False).returncode == 0:
            released += 1
        try:
            sandbox.unlink()
        except OSError:
            pass
    if released:
        note(f"released {released} container network(s) a killed dockerd left in {where}")
    return released


def start(kind: str, note: Note = quiet) -> int:
    """Install (once) and start an engine of this kind; returns dockerd's pid."""
    installed.machine_home().mkdir(parents=True, exist_ok=True)
    if not processes.named("dockerd"):
        release_dead_sandboxes(note)
    if kind == "current":
        layout = Layout(installed.machine_home())
        install_current(layout, note)
        argv = [str(layout.prefix / "usr/sbin/dockerd"), "--config-file", str(layout.daemon_json)]
        env, client_dir, docker_config, log = dockerd_env(layout), layout.client_dir, layout.docker_config, layout.log
    else:
        client_dir, docker_config, log = install_debian(note), None, installed.machine_home() / "dockerd-debian.log"
        argv, env = ["/usr/sbin/dockerd"], None
    # Recorded before it starts (pid unknown yet), and a Ctrl-C waits until the pid file, the record and
    # engine.env are all written: dockerd runs in its own session and outlives the interrupt, so `stop`
    # and the next prepare must know it as the workshop's.
    with processes.deferred_signals():
        installed.record_file().write_text(
            json.dumps(
                {
                    "kind": kind,
                    "pid": None,
                    "log": str(log),
                    "client_dir": str(client_dir),
                    "state": str(paths.state()),
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
            + "\n"
        )
        pid = processes.start(argv, log, installed.pid_file(), env=env, what="dockerd")
        installed.record_file().write_text(
            json.dumps(
                {
                    "kind": kind,
                    "pid": pid,
                    "log": str(log),
                    "client_dir": str(client_dir),
                    "state": str(paths.state()),
                    "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
            + "\n"
        )
        write_env(client_dir, docker_config)
    note(f"started dockerd ({kind}, pid {pid}), log in {log}")
    return pid


def is_kind(facts, kind: str) -> bool:
    """Does an engine with these facts (engine.Facts) look like this kind?"""
    if kind == "debian":
        return facts.version.startswith("20.10")
    return facts.version.startswith(engine_version()) and facts.containerd_store and facts.builder == "BuildKit"


def wanted_kind() -> str:
    kind = os.environ.get("WORKSHOP_ENGINE", "current")
    if kind not in KINDS:
        raise WorkshopError(f"WORKSHOP_ENGINE={kind}: choose one of {', '.join(KINDS)}")
    return kind


# ---------------------------------------------------------------- making one answer

WAIT_SECONDS = 60


def _how_to_start() -> str:
    if platform.system() in ("Darwin", "Windows"):
        return "start Docker Desktop, wait until it says it is running, then run scripts/prepare again"
    return (
        "start the docker service (`sudo systemctl start docker`) and make sure your user may use it "
        "(`sudo usermod -aG docker $USER`, then log in again), or run scripts/prepare as root"
    )


def _wait(seconds: float, started_pid: int | None = None) -> str | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        version = engine.server_version(timeout=10)
        if version:
            return version
        if started_pid is not None and not processes.alive(started_pid):
            return None
        time.sleep(0.5)
    return None


def ensure_engine(note: Note = quiet) -> str:
    summary = _ensure_engine(note)
    pinned = engine.record_endpoint()
    return summary + (f"; the workshop uses {pinned['host']} (from {pinned['from']})" if pinned else "")


def _ensure_engine(note: Note = quiet) -> str:
    """Make sure an engine answers; return a one-line summary. Raises WorkshopError otherwise.

    The engine the workshop started itself is replaced when WORKSHOP_ENGINE asks for the other
    kind; any other engine that answers (Docker Desktop, a system service) is used as it is."""
    kind = wanted_kind()
    ours = recorded()
    version = engine.server_version()
    if version and ours is None and os.environ.get("WORKSHOP_ENGINE"):
        found = engine.facts()
        if found and not is_kind(found, kind):
            raise WorkshopError(
                f"WORKSHOP_ENGINE={kind} asks for another engine, but {found.describe()} answers "
                f"and the workshop did not start it: stop it first (it is not the workshop's to stop)"
            )
    if version and (ours is None or ours["kind"] == kind):
        found = engine.facts()
        return found.describe() + (" (started by the workshop)" if ours else "") if found else f"Docker {version}"
    if version:
        stop(note)
    elif not host.is_linux_root():
        raise WorkshopError(f"no Docker engine answers: {_how_to_start()}")
    else:
        running = processes.named("dockerd")
        if running and ours is None:
            # someone (the service manager, another prepare) started one: give it time rather than start a second
            note(f"dockerd (pid {running[0]}) is starting; waiting up to {WAIT_SECONDS} s")
            if _wait(WAIT_SECONDS):
                return _ensure_engine(note)
            raise WorkshopError(
                f"dockerd (pid {running[0]}) runs but does not answer `docker info` after "
                f"{WAIT_SECONDS} s; look at its log, or stop it and run scripts/prepare again"
            )
    pid = start(kind, note)
    if not _wait(WAIT_SECONDS, started_pid=pid):
        log = (recorded() or {}).get("log") or str(installed.machine_home())
        tail = host.last_line(open(log, errors="replace").read()) if log.endswith(".log") else ""
        raise WorkshopError(f"dockerd did not answer within {WAIT_SECONDS} s ({tail[:160]}); see {log}")
    found = engine.facts()
    return (found.describe() if found else "Docker answering") + f" (started dockerd, pid {pid})"
