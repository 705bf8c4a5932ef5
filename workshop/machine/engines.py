"""What the workshop asks of a container engine, in one Protocol (beside the cluster's Provider in
workshop/cluster/providers.py): its facts and endpoint, images (build, pull, tag, push, remove),
containers (run, inspect, exec, remove), networks and volumes. Docker (docker_engine.py) is the
implementation today; workshop/machine/engine.py names the one in use. Outside docker_engine.py no
module writes a docker command line (tests/test_layout.py checks it); the deck's own boxes do, on
purpose, since they are what the class reads."""

import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol


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


@dataclass(frozen=True)
class Run:
    """A container to start: the image and command, and every setting the workshop gives one."""

    image: str
    command: Sequence[str] = ()
    name: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    publish: Sequence[str] = ()  # HOST_ADDRESS:HOST_PORT:CONTAINER_PORT
    network: str | None = None
    entrypoint: str | None = None
    detach: bool = False
    remove: bool = False  # gone when it stops
    restart: str | None = None  # a restart policy, e.g. unless-stopped
    user: str | None = None
    read_only: bool = False
    drop_capabilities: bool = False  # every Linux capability dropped
    no_new_privileges: bool = False
    memory: str | None = None  # e.g. 64m


@dataclass(frozen=True)
class Container:
    """What the workshop reads of a container."""

    id: str
    state: str  # running, exited, paused, ...
    labels: Mapping[str, str]
    host_addresses: Sequence[str]  # the host addresses its ports are published on
    networks: Sequence[str]


class Engine(Protocol):
    """A container engine as the workshop uses it."""

    # ---------------------------------------------------------------- the engine and its endpoint
    def client(self) -> str | None:
        """The engine's command-line client, or None when it is not installed."""

    def server_version(self, timeout: float = 20) -> str | None:
        """The engine's version when it answers, else None."""

    def facts(self, timeout: float = 20) -> Facts | None:
        """The engine's facts, or None when no engine answers."""

    def server_platform(self) -> str | None:
        """os/architecture of the engine, e.g. linux/amd64."""

    def recorded_endpoint(self) -> dict | None:
        """The endpoint prepare recorded: {'host': ..., 'from': ...}."""

    def record_endpoint(self) -> dict | None:
        """Record the endpoint of the engine that answers now, unless one is recorded already."""

    def environment(self) -> dict[str, str]:
        """The environment of a program that talks to the engine (the client, kind)."""

    # ---------------------------------------------------------------- images
    def image_exists(self, ref: str) -> bool: ...

    def image_id(self, ref: str) -> str | None: ...

    def image_label(self, ref: str, label: str) -> str | None:
        """A label's value ('' when the image lacks it), None when there is no such image."""

    def image_size(self, ref: str) -> int | None: ...

    def image_platform(self, ref: str) -> str | None:
        """os/architecture of a local image, e.g. linux/amd64; None when there is no such image."""

    def image_tag_count(self, ref: str) -> int | None:
        """How many tags name this image; None when there is no such image."""

    def try_pull(self, ref: str, log: Path) -> bool:
        """Pull the real image; False when the engine cannot reach its registry (the log says why)."""

    def build(
        self,
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
        """Build an image from context, its output appended to log."""

    def import_rootfs(self, tar: Path, ref: str, changes: Sequence[str], log: Path) -> None:
        """Make an image from a root filesystem tar, with these Dockerfile instructions applied."""

    def tag(self, source: str, target: str) -> None: ...

    def push(self, ref: str, log: Path | None = None, timeout: float = 600) -> None: ...

    def remove_image(self, ref: str) -> bool:
        """Remove a tag (the image with its last tag); False when the engine refused."""

    # ---------------------------------------------------------------- containers
    def run(self, spec: Run, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        """Start a container; its output (a detached container's id) in the result."""

    def container(self, name: str, timeout: float = 30) -> Container | None:
        """A container by name or id; None when there is none. Raises WorkshopError when the engine
        does not say."""

    def container_ids(self, timeout: float = 20) -> set[str] | None:
        """The full ids of every container, running or not; None when the engine does not answer."""

    def container_names(self, ids: Iterable[str]) -> dict[str, str]:
        """id -> name, for those of these containers that exist."""

    def containers_publishing(self, port: int) -> list[str]:
        """The names of the containers that publish this host port."""

    def remove_container(self, *names: str) -> None:
        """Stop and remove, whatever their state, with the anonymous volumes their images declared (named
        volumes stay); a name that is gone is no error."""

    def exec(self, container: str, argv: Sequence[str], input: str | None = None) -> None:
        """Run a program in a running container (its standard input from input, when given)."""

    def stats(self) -> list[tuple[str, float, float]]:
        """(name, MiB of memory used, CPU %) of each running container."""

    # ---------------------------------------------------------------- networks and volumes
    def network_exists(self, name: str) -> bool: ...

    def network_connect(self, network: str, container: str) -> None: ...

    def network_disconnect(self, network: str, container: str) -> None:
        """Disconnect if connected; no error when it is not."""

    def network_remove(self, name: str) -> bool:
        """Remove a network; False when the engine refused (a container still on it)."""

    def volume_exists(self, name: str) -> bool: ...
