"""The worker tier: an RQ worker that grades submissions from the "grading" queue.

    python -m okpy_mini.worker            (what ok-worker.yaml runs)

It is the plain `rq worker --url $REDIS_URL grading` with two additions for a
classroom: it waits for Redis instead of crashing while Redis starts, and it
prints one line per graded job (RQ's own chatter is kept to warnings).
SIGTERM, which Kubernetes sends when it stops a pod, is RQ's warm shutdown:
finish the job in hand, then exit. A second SIGTERM stops at once.
"""
import logging
import signal
import sys
import time

from . import settings

log = logging.getLogger("okpy_mini.worker")


def _stop(signum, frame):
    raise SystemExit(0)


def wait_for_redis(conn) -> None:
    """Block until Redis answers (a pod that crashed instead would count restarts for nothing)."""
    import redis

    while True:
        try:
            conn.ping()
            return
        except redis.RedisError as error:
            log.info("waiting for redis: %s", error)
            time.sleep(2)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stdout)
    # Until RQ installs its warm-shutdown handler, SIGTERM simply exits.
    # (As PID 1 in a container, Python would otherwise ignore it.)
    signal.signal(signal.SIGTERM, _stop)
    # A bad setting stops the worker now: before Redis answers, and before redis and RQ are even
    # loaded, so a crash-looping pod has printed why a moment after each start (`kubectl logs` finds it).
    grade_seconds = settings.grade_seconds()
    from rq import Worker

    conn = settings.connect(settings.redis_url())  # RQ lengthens the read timeout for its blocking pops
    kwargs = conn.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
    wait_for_redis(conn)
    worker = Worker([settings.QUEUE], connection=conn)
    log.info("worker ready: pod=%s queue=%s redis=%s grade_seconds=%s",
             settings.pod_name(), settings.QUEUE, where, grade_seconds)
    worker.work(logging_level="WARNING")
    log.info("worker stopped: pod=%s", settings.pod_name())
    return 0


if __name__ == "__main__":
    sys.exit(main())
