"""Which Kubernetes releases are still supported, and which combinations break: the facts
scripts/doctor reports about the cluster, the kubectl in the boxes and the engine under kind.

Dates are those of the Kubernetes release team (kubernetes.io/releases): each minor gets about
fourteen months of patches. Edit END_OF_LIFE when a release comes out; doctor's test reads it."""

import datetime
import re

from workshop import versions

END_OF_LIFE = {  # minor -> the day its last patch release is due
    31: datetime.date(2025, 10, 28),
    32: datetime.date(2026, 2, 28),
    33: datetime.date(2026, 6, 28),
    34: datetime.date(2026, 10, 27),
    35: datetime.date(2027, 2, 28),
    36: datetime.date(2027, 6, 28),
    37: datetime.date(2027, 10, 28),
}
OLDEST_KNOWN = min(END_OF_LIFE)
KUBELET_REFUSES_CGROUP_V1 = 35  # KEP-5573: from 1.35 the kubelet needs failCgroupV1: false there
MIN_DOCKER_API = versions.docker_api_min()  # Docker 25: what kind and current BuildKit clients expect


def minor_of(version: str) -> int | None:
    """37 of 'v1.37.2', '1.37' or '1.37+'; None when it is not a 1.x version."""
    found = re.match(r"v?1\.(\d+)", version or "")
    return int(found.group(1)) if found else None


def end_of_life(minor: int, today: datetime.date) -> datetime.date | None:
    """The day this minor stopped getting patches, if that day has passed; None while it is supported."""
    ended = END_OF_LIFE.get(minor) if minor >= OLDEST_KNOWN else datetime.date.min
    return ended if ended is not None and ended <= today else None


def api_tuple(api: str) -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", api or "")
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def problems(
    server: str, client: str | None, cgroup_version: str | None, kind_made: bool, today: datetime.date
) -> list[tuple[str, str]]:
    """(what is wrong, the fix) for a cluster of version `server`, a kubectl of version `client`, on an
    engine with this cgroup version (only when the workshop's kind nodes run on it)."""
    found: list[tuple[str, str]] = []
    minor = minor_of(server)
    if minor is None:
        return found
    ended = end_of_life(minor, today)
    if ended:
        since = f" on {ended.isoformat()}" if ended != datetime.date.min else ""
        found.append(
            (
                f"Kubernetes 1.{minor} reached its end of life{since}: it gets no security fixes",
                f"scripts/cluster down, then scripts/cluster up (the workshop's kind cluster is {versions.kubernetes_minor()})"
                if kind_made
                else "upgrade that cluster, or use the workshop's kind cluster (scripts/cluster up)",
            )
        )
    client_minor = minor_of(client or "")
    if client_minor is not None and abs(client_minor - minor) > 1:
        found.append(
            (
                f"kubectl 1.{client_minor} is more than one minor version from the cluster's 1.{minor} "
                f"(kubectl supports one minor either way)",
                f"install kubectl 1.{minor}: https://kubernetes.io/docs/tasks/tools/",
            )
        )
    if kind_made and cgroup_version == "1" and minor >= KUBELET_REFUSES_CGROUP_V1:
        found.append(
            (
                f"the engine runs cgroup v1, which the kubelet of 1.{minor} refuses unless told otherwise: the "
                f"workshop's kind nodes set failCgroupV1: false, and a later release may drop cgroup v1 for good",
                "use a machine with cgroup v2 (Docker Desktop, or a Linux booted without "
                "systemd.unified_cgroup_hierarchy=0) when you can",
            )
        )
    return found
