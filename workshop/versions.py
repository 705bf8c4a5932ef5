"""The versions the lecture runs, read from versions.env at the top of the checkout (the one file
that names them; provision/ and the docs read it too)."""

import functools
import re

from workshop.paths import ROOT

FILE = ROOT / "versions.env"


@functools.cache
def pinned() -> dict[str, str]:
    """versions.env's KEY=value lines."""
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(\S+)", FILE.read_text(), re.M))


def kubernetes_version() -> str:
    """The Kubernetes release of the workshop's kind node image, e.g. v1.37.2."""
    return pinned()["KUBERNETES_VERSION"]


def kubernetes_minor() -> str:
    """e.g. 1.37 (the upstream node image may be another patch of it)."""
    return ".".join(kubernetes_version().lstrip("v").split(".")[:2])


def kind_version() -> str:
    return pinned()["KIND_VERSION"]


def upstream_node_image() -> str:
    """kind's own node image for the workshop's Kubernetes minor, pinned by digest."""
    return pinned()["KIND_NODE_IMAGE"]


def local_node_image() -> str:
    """The node image built here where the upstream one cannot be pulled (provision/kind_node/)."""
    return f"workshop-kind/node:{kubernetes_version()}-{pinned()['NODE_BUILD']}"


def docker_api_min() -> tuple[int, ...]:
    return tuple(int(part) for part in pinned()["DOCKER_API_MIN"].split("."))


def docker_engine_version() -> str:
    """The dockerd the workshop installs where it may (28.5.2)."""
    return pinned()["DOCKER_ENGINE_VERSION"]


def docker_cli_version() -> str:
    return pinned()["DOCKER_CLI_VERSION"]
