"""Everything the app reads from its environment, in one place.

Kubernetes (or `docker run -e`) sets these; the defaults match the manifests in k8s_demo/.
"""
import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a connection is made: the worker checks its settings before loading redis
    import redis

# The queue both tiers agree on.
QUEUE = "grading"


def redis_url() -> str:
    # "redis" is the name of the Service in redis.yaml: cluster DNS resolves it.
    return os.environ.get("REDIS_URL", "redis://redis:6379/0")


def app_version() -> str:
    # Baked into the image at build time: docker build --build-arg APP_VERSION=v2 ...
    return os.environ.get("APP_VERSION", "dev")


def pod_name() -> str:
    # A pod's hostname is the pod's name, so this needs no configuration in Kubernetes.
    return os.environ.get("POD_NAME") or socket.gethostname()


def grade_seconds() -> float:
    """How long grading one submission pretends to take (so scaling the workers shows)."""
    raw = os.environ.get("GRADE_SECONDS", "0.4")
    try:
        seconds = float(raw)
    except ValueError:
        raise SystemExit(f"GRADE_SECONDS must be a number of seconds, not {raw!r}") from None
    return max(0.0, min(seconds, 10.0))


def connect(url: str, fail_fast: bool = False) -> "redis.Redis":
    """A Redis client with short timeouts. fail_fast (the web tier): at most one retry, with no
    back-off, so a readiness probe or a page answers within about a second even while Redis is
    unreachable; redis-py's default would retry ten times with growing pauses."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if fail_fast:
        return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1,
                                    retry=Retry(NoBackoff(), 1), health_check_interval=30)
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
