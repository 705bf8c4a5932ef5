"""The benchmark command: the Docker part's speed and size figures, printed, with their targets.

It builds from a copy of docker_demo/ (so the repository is never edited), tags only
workshop-bench-* images and removes exactly those at the end.
"""

import argparse
import contextlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import median

from workshop import ledger, paths, versions
from workshop.cli import WorkshopError, quiet, run
from workshop.cluster import kind, kubectl, providers, warm_up
from workshop.commands import bench_bounds, bench_class
from workshop.commands.bench_bounds import against
from workshop.deck import reader as deck_reader
from workshop.machine import app_images, host
from workshop.machine.engine import ENGINE as engine
from workshop.machine.engines import Facts, Run
from workshop.names import DEBIAN_IMAGE, PART_OF, PYTHON_IMAGE
from workshop.paths import DECK, ROOT
from workshop.rehearsal.engine import Options, Rehearsal

BENCH_TAG = "workshop-bench-py"
LIVE_STEP_TARGET = 2.0
REBUILD_TARGET = 1.5  # a rebuild after an edit, against one with nothing changed
ROLLOUT_TARGET = 10.0


def timed_build(context: Path, tag: str, no_cache: bool = False) -> float:
    """Seconds for a build of the demo's Dockerfile in context (its output in the bench's log)."""
    started = time.monotonic()
    log = host.log_path("bench-build.log")
    engine.build(
        context, tag=tag, dockerfile=context / "Dockerfile", no_cache=no_cache, log=log, what=f"building {tag}"
    )
    return time.monotonic() - started


def image_size(ref: str) -> int:
    size = engine.image_size(ref)
    if size is None:
        raise WorkshopError(f"no image {ref}")
    return size


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
    container = engine.run(Run(image, detach=True, remove=True, publish=[f"127.0.0.1:{port}:3000"])).stdout.strip()
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
        engine.remove_container(container)


def build_figures() -> None:
    """Cold build, then side by side: a rebuild with nothing changed (the floor a rebuild can
    reach) and a rebuild after editing server.py, which must reuse the dependency layer."""
    with tempfile.TemporaryDirectory(prefix="workshop-bench-") as scratch:
        context = Path(scratch) / "docker_demo"
        shutil.copytree(ROOT / "docker_demo", context)
        cold = timed_build(context, f"{BENCH_TAG}:cold", no_cache=True)
        unchanged = timed_build(context, f"{BENCH_TAG}:cold")
        with open(context / "server.py", "a") as server:
            server.write("# an edit, as a developer would make one\n")
        edited = timed_build(context, f"{BENCH_TAG}:edited")
    ratio = edited / unchanged
    print(
        f"build       cold {cold:.1f} s; rebuild with nothing changed {unchanged:.2f} s; after editing server.py "
        f"{edited:.2f} s = {ratio:.2f}x the no-change rebuild, {edited / cold:.1%} of cold "
        + against(ratio, REBUILD_TARGET, f"{REBUILD_TARGET:g}x")
    )
    start = first_200(f"{BENCH_TAG}:edited")
    print(f"start       docker run to first HTTP 200: {start:.2f} s")
    store = (engine.facts() or Facts("?", "?", "?", "?", "?", "?", "?")).image_store
    what = (
        "compressed content, as `docker image inspect` reports it on the containerd store"
        if store == "containerd"
        else f"unpacked layers, as the {store} store reports them"
    )
    for image, base in (("workshop-demo-deb:1.0", DEBIAN_IMAGE), (f"{BENCH_TAG}:edited", PYTHON_IMAGE)):
        try:
            size, base_size = image_size(image), image_size(base)
        except WorkshopError:
            print(f"size        {image}: not built yet (rehearse slide 7 first)")
            continue
        print(f"size        {image} {mib(size)} = {base} {mib(base_size)} + {mib(size - base_size)} ({what})")


def rehearsal_figures() -> None:
    results = Rehearsal(deck_reader.read(DECK), Options(without=("cluster",))).run()
    ran = [r for r in results if not r.skipped]
    failed = [r for r in ran if not r.ok]
    total = sum(r.seconds for r in ran)
    slowest = max(ran, key=lambda r: r.seconds)
    over = [r for r in ran if r.seconds > LIVE_STEP_TARGET]
    print(
        f"rehearsal   {len(ran)} Docker steps in {total:.1f} s, slowest {slowest.box.label} {slowest.seconds:.1f} s "
        f"({slowest.box.typed}); {len(over)} step(s) over {LIVE_STEP_TARGET:g} s; {len(failed)} failed"
    )
    for result in over:
        print(f"            over target: {result.box.label} {result.seconds:.1f} s  {result.box.typed}")


def build_figures_k8s(cold: bool) -> None:
    """The kind node image's Kubernetes programs (built where kindest/node cannot be pulled): the last
    full build per program, a no-change rebuild, and on request a cold build (empty Go build cache,
    scratch folder) in a child process."""
    times_file = paths.state() / "k8s-bin" / versions.kubernetes_version() / "build-times.json"
    build = [sys.executable, "-m", "provision.node_image", "--programs"]  # the basement's, run, not imported
    if times_file.exists():
        times = json.loads(times_file.read_text())
        print(
            f"k8s build   last build of each program: {sum(times.values()):.0f} s in all "
            f"({', '.join(f'{name} {seconds:.0f} s' for name, seconds in times.items())})"
        )
    started = time.monotonic()
    host.logged(build, host.log_path("bench-build.log"), timeout=3600, what="the build", cwd=ROOT)
    print(f"k8s build   nothing changed: {time.monotonic() - started:.1f} s")
    if cold:
        with tempfile.TemporaryDirectory(prefix="workshop-cold-build-") as scratch:
            env = {**os.environ, "WORKSHOP_STATE": f"{scratch}/state", "GOCACHE": f"{scratch}/gocache"}
            started = time.monotonic()
            host.logged(
                build,
                host.log_path("bench-cold-build.log"),
                timeout=3600,
                what="the cold build",
                env=env,
                cwd=ROOT,
            )
            print(
                f"k8s build   cold (empty Go build cache, modules already downloaded): "
                f"{time.monotonic() - started:.0f} s"
            )


def rollout_figures(memory: Callable[[], int | None], memory_target: int) -> None:
    """First rollout and rolling update of the lecture's app, and the memory of cluster and app."""
    files = warm_up.manifest_args()
    try:
        kubectl.run("apply", *files)
        first = warm_up.timed_rollout(
            quiet, "wait", "--for=condition=Available", "deployment", "-l", PART_OF, "--timeout=240s"
        )
        print(
            f"cluster     first rollout (apply to every Deployment Available): {first:.1f} s "
            + against(first, ROLLOUT_TARGET, f"{ROLLOUT_TARGET:g} s")
        )
        kubectl.run("set", "image", "deployment/ok-web", f"web={app_images.APP}:v2")
        update = warm_up.timed_rollout(quiet, "rollout", "status", "deployment/ok-web", "--timeout=240s")
        print(
            f"cluster     rolling update of ok-web to v2: {update:.1f} s "
            + against(update, ROLLOUT_TARGET, f"{ROLLOUT_TARGET:g} s")
        )
        used = memory()
        if used:
            print(
                f"cluster     memory of the cluster and the app: {used} MiB "
                + against(used, memory_target, f"{memory_target} MiB")
            )
    finally:
        kubectl.run("delete", *files, "--ignore-not-found", "--wait=true", timeout=180, check=False)


KIND_RATIO_TARGET = 1.05  # the workshop's kind cluster against a bare one, same image and nodes
KIND_MEMORY_TARGET_MIB = 2048
BARE_KIND = "workshop-bench"
KIND_SAMPLES = 3


def _all_ready(config: Path, nodes: int, timeout: float = 300) -> float:
    """Seconds until the cluster of this kubeconfig has `nodes` nodes, all Ready."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if kubectl.all_ready(kubectl.node_summary(timeout=10, config=config), nodes):
            return time.monotonic() - started
        time.sleep(1)
    raise WorkshopError(f"the cluster of {config} was not Ready within {timeout:.0f} s")


def node_memory_mib(prefix: str) -> int:
    """The memory the engine reports for the containers whose names start with prefix, in MiB."""
    return round(sum(mib for name, mib, _ in engine.stats() if name.startswith(prefix)))


def _no_workshop_cluster() -> None:
    if providers.chosen():
        raise WorkshopError("a workshop cluster is up: scripts/cluster down first (bench --cluster makes its own)")


def _bare_kind(image: str) -> float:
    """Seconds for a bare `kind create cluster` (same image, nodes and config, what this VM needs and
    nothing of the workshop's) to all nodes Ready; it is deleted again before anything else is timed."""
    if not engine.network_exists("kind"):
        ledger.record("network", "kind")  # kind makes it now: the workshop's, removed by cluster down
    with tempfile.TemporaryDirectory(prefix="workshop-bench-kind-") as scratch:
        config = Path(scratch) / "kubeconfig"
        try:
            began = time.monotonic()
            host.run(
                [
                    kind.command(),
                    "create",
                    "cluster",
                    "--name",
                    BARE_KIND,
                    "--image",
                    image,
                    "--kubeconfig",
                    str(config),
                    "--config",
                    "-",
                ],
                input=kind.cluster_config(kind.engine_cgroup_version()),
                timeout=600,
                what="kind create cluster (bare)",
            )
            return (time.monotonic() - began) + _all_ready(config, kind.NODES)
        finally:
            host.run([kind.command(), "delete", "cluster", "--name", BARE_KIND], timeout=300, check=False)


def kind_figures() -> float:
    """A bare `kind create cluster` up to all nodes Ready, then the workshop's kind cluster the same way
    (their ratio), rollouts, memory, and the Kubernetes part's rehearsal; the machine is left as it
    was (clusters down, objects removed)."""
    _no_workshop_cluster()
    image = kind.node_image(quiet)  # built or pulled before either is timed
    bare, ours = [], []
    try:
        for sample in range(KIND_SAMPLES):  # alternately, so both see the same machine
            bare.append(_bare_kind(image))
            started = time.monotonic()
            providers.up("kind", say=quiet)
            ours.append(time.monotonic() - started)
            if sample < KIND_SAMPLES - 1:
                providers.down(say=quiet)
        ratio = median(ours) / median(bare)
        print(
            f"kind        up to {kind.NODES} nodes Ready, {KIND_SAMPLES} times each, alternately: bare kind create "
            f"(same image, nodes and config) {' '.join(f'{t:.1f}' for t in bare)} s (median {median(bare):.1f}); "
            f"the workshop's cluster {' '.join(f'{t:.1f}' for t in ours)} s (median {median(ours):.1f}); ratio of "
            f"medians {ratio:.2f} " + against(ratio, KIND_RATIO_TARGET, f"{KIND_RATIO_TARGET:g}")
        )
        rollout_figures(_memory, KIND_MEMORY_TARGET_MIB)
        deck = deck_reader.read(DECK)
        started = time.monotonic()
        results = Rehearsal(
            deck, Options(slides=sorted({b.slide for b in deck.boxes() if "cluster" in b.directives.needs}))
        ).run()
        ran = [r for r in results if not r.skipped]
        print(
            f"kind        the Kubernetes part rehearsed: {sum(r.ok for r in ran)} of {len(ran)} boxes passed in "
            f"{time.monotonic() - started:.1f} s"
        )
    finally:
        providers.down(say=quiet)
    return median(bare)


def _memory() -> int:
    return node_memory_mib(f"{kind.NAME}-")


def kind_rounds(rounds: int) -> None:
    """The kind cluster from nothing: up to all nodes Ready, its idle memory, then the whole deck
    rehearsed `rounds` times in a row on it; then down. One line of figures."""
    _no_workshop_cluster()
    deck = deck_reader.read(DECK)
    kind.node_image(quiet)  # built or pulled before the bring-up is timed
    started = time.monotonic()
    providers.up("kind", say=quiet)
    ready = time.monotonic() - started
    try:
        idle = _memory()
        times, outcomes = [], []
        for _ in range(rounds):
            began = time.monotonic()
            results = Rehearsal(deck, Options()).run()
            times.append(time.monotonic() - began)
            ran = [r for r in results if not r.skipped]
            outcomes.append(f"{sum(r.ok for r in ran)}/{len(ran)}")
    finally:
        providers.down(say=quiet)
    print(
        f"rounds      kind up to Ready {ready:.1f} s; idle memory {idle} MiB; whole deck x{rounds}: "
        f"{' '.join(f'{t:.1f}' for t in times)} s (median {median(times):.1f} s); "
        f"boxes passed {' '.join(outcomes)}"
    )


CLASS_AT = 8  # students at once, for the class's bound


def all_figures(found: Facts) -> None:
    """Every bounded figure beside its peer, in one run; the cluster is down again at the end."""
    _no_workshop_cluster()
    lines = [f"engine      {found.describe()}"]

    shown = sys.stdout  # the terminal's, not the redirected one below

    def say(line: str) -> None:
        shown.write(line + "\n")
        shown.flush()
        lines.append(line)

    when = time.strftime("%Y-%m-%d %H:%M %Z")
    with contextlib.redirect_stdout(bench_bounds.Lines(say)):
        try:
            bench_bounds.present_figure()
            rehearsal_figures()  # the Docker part, which also pushes the v2 image the rollouts below use
            bare = kind_figures()
            bench_bounds.prepare_figure(bare)  # the cluster is up from here on
            bench_bounds.tui_figure()
            bench_class.class_figures(CLASS_AT)
        finally:
            providers.down(say=quiet)
    print(f"bench: these lines are kept in {bench_bounds.save(lines, when)}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description="Print the Docker part's speed and size figures."
    )
    parser.add_argument("--skip-build", action="store_true", help="skip the Docker cold build")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="also the Kubernetes figures: program build, kind bring-up against bare kind, rollouts, memory",
    )
    parser.add_argument("--cold-build", action="store_true", help="with --cluster: also a cold build (minutes)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        metavar="N",
        help="with --cluster: the kind cluster from nothing, the whole deck rehearsed N times in a row on it",
    )
    parser.add_argument(
        "--class",
        dest="students",
        type=int,
        metavar="N",
        help="only the class figures: up to N students' Kubernetes steps at once on the "
        "workshop's cluster (see workshop/commands/bench_class.py)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="every figure that has a bound, beside its peer, in one run: deck start, kind against bare kind, "
        "prepare from a stopped engine, the lecture in the real TUI, the class at 8 students (no cluster may be "
        "up; about 20 minutes); the lines are kept in .workshop/logs/bench-last.txt",
    )
    parser.add_argument(
        "--docs",
        action="store_true",
        help="copy the last --all run's lines, with its date, into docs/development.md (alone, or after --all)",
    )
    parser.add_argument(
        "--browsers",
        action="store_true",
        help="with --class N: the class in a browser (scripts/class serve): link to prompt, keystroke echo, memory",
    )
    args = parser.parse_args(argv)
    if args.docs and not args.all:
        bench_bounds.write_docs()
        print(f"bench: {bench_bounds.DOCS.relative_to(ROOT)} now holds the run in {bench_bounds.record_file()}")
        return 0
    found = engine.facts()
    if found is None:
        raise WorkshopError("no Docker engine answers: run scripts/prepare first")
    print(f"engine      {found.describe()}")
    if args.browsers and not args.students:
        raise WorkshopError("--browsers goes with --class N: scripts/bench --class 8 --browsers")
    if args.all:
        all_figures(found)
        if args.docs:
            bench_bounds.write_docs()
        return 0
    if args.students:
        if args.browsers:
            bench_class.browser_figures(args.students)
        else:
            bench_class.class_figures(args.students)
        return 0
    try:
        bench_bounds.present_figure()
        rehearsal_figures()  # warm: run after prepare, so the images exist and caches are hot
        if not args.skip_build:
            build_figures()
        if args.cluster:
            build_figures_k8s(args.cold_build)
            if not kind.available():
                raise WorkshopError("bench --cluster needs kind: see https://kind.sigs.k8s.io/docs/user/quick-start/")
            kind_figures()
            if args.rounds > 0:
                kind_rounds(args.rounds)
    finally:
        for tag in ("cold", "edited"):
            engine.remove_image(f"{BENCH_TAG}:{tag}")
    return 0


if __name__ == "__main__":
    run(main, "bench")
