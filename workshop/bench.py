"""The benchmark command: the Docker part's speed and size figures, printed, with their targets.

It builds from a copy of docker_demo/ (so the repository is never edited), tags only
workshop-bench-* images and removes exactly those at the end.
"""
import argparse
import shutil
import socket
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Sequence

from . import deck as deck_reader
from .cli import WorkshopError, run
from .docker_engine import docker, server_version
from .paths import DECK, ROOT
from .rehearsal import Options, Rehearsal

BENCH_TAG = "workshop-bench-py"
LIVE_STEP_TARGET = 2.0
REBUILD_TARGET = 0.10


def timed(*args: str, timeout: float = 900) -> float:
    started = time.monotonic()
    docker(*args, timeout=timeout)
    return time.monotonic() - started


def image_size(ref: str) -> int:
    return int(docker("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip())


def mib(size: int) -> str:
    return f"{size / 2**20:.0f} MiB"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_200(image: str, timeout: float = 30) -> float:
    """Seconds from `docker run -d` to the first HTTP 200 from the container."""
    port = free_port()
    started = time.monotonic()
    container = docker("run", "-d", "--rm", "-p", f"127.0.0.1:{port}:3000", image).stdout.strip()
    try:
        while time.monotonic() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except OSError:
                time.sleep(0.02)
        raise WorkshopError(f"{image} did not answer on port {port} within {timeout:g} s")
    finally:
        docker("rm", "-f", container, check=False)


def build_figures() -> None:
    with tempfile.TemporaryDirectory(prefix="workshop-bench-") as scratch:
        context = Path(scratch) / "docker_demo"
        shutil.copytree(ROOT / "docker_demo", context)
        dockerfile = str(context / "py.Dockerfile")
        cold = timed("build", "--no-cache", "-q", "-t", f"{BENCH_TAG}:cold", "-f", dockerfile, str(context))
        with open(context / "server.py", "a") as server:
            server.write("# an edit, as a developer would make one\n")
        cached = timed("build", "-q", "-t", f"{BENCH_TAG}:edited", "-f", dockerfile, str(context))
    ratio = cached / cold
    verdict = "meets" if ratio <= REBUILD_TARGET else "MISSES"
    print(f"build       cold {cold:.1f} s, cached rebuild after editing server.py {cached:.1f} s "
          f"= {ratio:.1%} of cold ({verdict} the {REBUILD_TARGET:.0%} target)")
    start = first_200(f"{BENCH_TAG}:edited")
    print(f"start       docker run to first HTTP 200: {start:.2f} s")
    for image, base in (("workshop-demo-deb:1.0", "debian:bookworm-slim"), (f"{BENCH_TAG}:edited", "python:3.12-slim")):
        try:
            size, base_size = image_size(image), image_size(base)
        except WorkshopError:
            print(f"size        {image}: not built yet (rehearse slide 7 first)")
            continue
        print(f"size        {image} {mib(size)} = {base} {mib(base_size)} + {mib(size - base_size)}")


def rehearsal_figures() -> None:
    results = Rehearsal(deck_reader.read(DECK), Options(without=("cluster",))).run()
    ran = [r for r in results if not r.skipped]
    failed = [r for r in ran if not r.ok]
    total = sum(r.seconds for r in ran)
    slowest = max(ran, key=lambda r: r.seconds)
    over = [r for r in ran if r.seconds > LIVE_STEP_TARGET]
    print(f"rehearsal   {len(ran)} Docker steps in {total:.1f} s, slowest {slowest.box.label} {slowest.seconds:.1f} s "
          f"({slowest.box.typed}); {len(over)} step(s) over {LIVE_STEP_TARGET:g} s; {len(failed)} failed")
    for result in over:
        print(f"            over target: {result.box.label} {result.seconds:.1f} s  {result.box.typed}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description="Print the Docker part's speed and size figures.")
    parser.add_argument("--skip-build", action="store_true", help="skip the cold build (the slowest figure)")
    args = parser.parse_args(argv)
    version = server_version()
    if version is None:
        raise WorkshopError("no Docker engine answers: run scripts/prepare first")
    print(f"engine      Docker {version}")
    try:
        rehearsal_figures()      # warm: run after prepare, so the images exist and caches are hot
        if not args.skip_build:
            build_figures()
    finally:
        for tag in ("cold", "edited"):
            docker("image", "rm", f"{BENCH_TAG}:{tag}", check=False)
    return 0


if __name__ == "__main__":
    run(main, "bench")
