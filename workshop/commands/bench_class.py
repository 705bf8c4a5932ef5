"""scripts/bench --class N: how many students one cluster holds.

A class of N is made on the workshop's cluster (scripts/class up); then rounds of 1, 2, 3, 4, 6, 8, 12, ...
students run the lecture's namespaced Kubernetes steps at the same time, each through their own kubeconfig:
apply the three manifests and wait until Available, scale the workers to 3, roll ok-web out to v2 and
back, delete. Each round prints whether every student's steps passed, the steps' seconds at p50 and
p95 against a single student's, and the cluster's extra memory and CPU per student (the node
containers, sampled every second by `docker stats`). Rounds stop at the first failure, at a p95 three
times the single student's, or at N."""

import statistics
import threading
import time
from collections.abc import Callable

from workshop.cli import WorkshopError, quiet
from workshop.cluster import classroom, kind, kubectl
from workshop.machine import app_images
from workshop.machine.engine import ENGINE as engine

SLOWDOWN_LIMIT = 3.0
SINGLE_ROUNDS = 3


def steps(files: list[str]) -> list[tuple[str, list[str], float]]:
    wait = ["--timeout=300s"]
    return [
        ("apply", ["apply", *files], 60),
        ("available", ["wait", "--for=condition=Available", "deployment", "--all", *wait], 320),
        ("scale", ["scale", "deployment/ok-worker", "--replicas=3"], 60),
        ("scaled", ["wait", "--for=condition=Available", "deployment/ok-worker", *wait], 320),
        ("set image", ["set", "image", "deployment/ok-web", f"web={app_images.APP}:v2"], 60),
        ("rollout", ["rollout", "status", "deployment/ok-web", *wait], 320),
        ("undo", ["rollout", "undo", "deployment/ok-web"], 60),
        ("rolled back", ["rollout", "status", "deployment/ok-web", *wait], 320),
        ("delete", ["delete", *files, "--wait=true", "--timeout=300s"], 320),
    ]


def one_student(namespace: str, results: dict[str, object]) -> None:
    config = classroom.class_dir() / f"{namespace}.kubeconfig"
    files = [arg for path in sorted(app_images.K8S_DEMO.glob("*.yaml")) for arg in ("-f", str(path))]
    seconds = []
    for name, args, timeout in steps(files):
        began = time.monotonic()
        done = kubectl.run(*args, config=config, context=None, check=False, timeout=timeout)
        if done.returncode != 0:
            results[namespace] = f"{name} failed: {(done.stderr.strip().splitlines() or ['?'])[-1][:100]}"
            return
        seconds.append(time.monotonic() - began)
    results[namespace] = seconds


def _nodes_usage() -> tuple[float, float]:
    """(MiB, CPU %) of the kind node containers now."""
    nodes = [(mib, cpu) for name, mib, cpu in engine.stats() if name.startswith(f"{kind.NAME}-")]
    return sum(mib for mib, _ in nodes), sum(cpu for _, cpu in nodes)


def one_round(count: int) -> tuple[bool, list[float], float, float]:
    """count students at once: (all passed, every step's seconds, extra MiB per student, CPU % per student)."""
    base_memory, _ = _nodes_usage()
    results: dict[str, object] = {}
    threads = [
        threading.Thread(target=one_student, args=(classroom.namespace_of(n), results)) for n in range(1, count + 1)
    ]
    samples: list[tuple[float, float]] = []
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        samples.append(_nodes_usage())
        time.sleep(1)
    for thread in threads:
        thread.join()
    failed = [f"{ns}: {r}" for ns, r in results.items() if isinstance(r, str)]
    for line in failed:
        print(f"            {line}")
    seconds = [s for r in results.values() if isinstance(r, list) for s in r]
    peak = max((m for m, _ in samples), default=base_memory)
    cpu = statistics.mean(c for _, c in samples) if samples else 0.0
    return not failed, seconds, (peak - base_memory) / count, cpu / count


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def class_sizes(most: int) -> list[int]:
    """1, 2, 3, 4, 6, 8, 12, 16, 24, ... up to most, and most itself: fine steps where a small machine
    reaches its limit."""
    sizes, size = [], 1
    while size < most:
        sizes.append(size)
        if size < 4:
            size += 1
        elif size & (size - 1) == 0:  # 4, 8, 16: half as many again
            size = size * 3 // 2
        else:  # 6, 12, 24: on to the next power of two
            size = size * 4 // 3
    return sizes + [most]


def class_figures(most: int, say: Callable[[str], None] = print) -> None:
    if not kubectl.cluster_ready():
        raise WorkshopError("bench --class needs the workshop's cluster: scripts/cluster up")
    missing = [image for image in (f"{app_images.APP}:v1", f"{app_images.APP}:v2") if not app_images.in_registry(image)]
    if missing:
        raise WorkshopError(
            f"the registry lacks {missing[0]}, which the students' rollout uses: run scripts/prepare "
            f"registry app-images deck-images"
        )
    if classroom.roster_file().exists():
        raise WorkshopError("a class is up: scripts/class down first (bench --class makes its own)")
    classroom.up(most, say=quiet)
    try:
        single: list[float] = []
        for _ in range(SINGLE_ROUNDS):  # the yardstick: enough steps for a steady p95
            single_ok, seconds, _, _ = one_round(1)
            if not single_ok:
                raise WorkshopError("a single student's steps failed; see the lines above")
            single += seconds
        base = p95(single)
        say(
            f"class       1 student ({SINGLE_ROUNDS} rounds): steps p50 {statistics.median(single):.1f} s, p95 {base:.1f} s"
        )
        for count in class_sizes(most)[1:]:
            ok, seconds, memory, cpu = one_round(count)
            worst = p95(seconds) if seconds else float("inf")
            say(
                f"class       {count} students at once: {'all green' if ok else 'NOT all green'}; steps p50 "
                f"{statistics.median(seconds) if seconds else 0:.1f} s, p95 {worst:.1f} s ({worst / base:.1f}x a "
                f"single student's); cluster memory +{memory:.0f} MiB and CPU {cpu:.0f}% (of one core) per student"
            )
            if not ok or worst > SLOWDOWN_LIMIT * base:
                say(
                    f"class       stopped at {count}: "
                    + ("a student's steps failed" if not ok else f"p95 over {SLOWDOWN_LIMIT:g}x a single student's")
                )
                break
    finally:
        classroom.down(say=quiet)
