"""scripts/bench --class N: how many students one cluster holds.

A class of N is made on the workshop's cluster (scripts/class up); then rounds of 1, 2, 3, 4, 6, 8, 12, ...
students run the lecture's namespaced Kubernetes steps at the same time, each through their own kubeconfig:
apply the three manifests and wait until Available, scale the workers to 3, roll ok-web out to v2 and
back, delete. Each round prints whether every student's steps passed, the steps' seconds at p50 and
p95 against a single student's, and the cluster's extra memory and CPU per student (the node
containers, sampled every second by `docker stats`). Rounds stop at the first failure, at a p95 three
times the single student's, or at N.

With --browsers: the class in a browser instead (scripts/class serve, headless Chromium on this machine):
the time from opening a link to a prompt and each keystroke's echo with 1 and N browsers at once, beside
`kubectl get pods` from the students' kubeconfigs, the memory an open terminal costs, and students per node."""

import json
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from workshop.cli import WorkshopError, quiet
from workshop.cluster import class_fence, classroom, kind, kubectl
from workshop.commands.bench_bounds import against
from workshop.machine import app_images, host, processes
from workshop.machine.engine import ENGINE as engine
from workshop.paths import ROOT

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
                f"single student's, {against(worst / base, SLOWDOWN_LIMIT, f'{SLOWDOWN_LIMIT:g}x')}); cluster memory "
                f"+{memory:.0f} MiB and CPU {cpu:.0f}% (of one core) per student"
            )
            if not ok or worst > SLOWDOWN_LIMIT * base:
                say(
                    f"class       stopped at {count}: "
                    + ("a student's steps failed" if not ok else f"p95 over {SLOWDOWN_LIMIT:g}x a single student's")
                )
                break
    finally:
        classroom.down(say=quiet)


# ---------------------------------------------------------------- --browsers: the class in a browser

BROWSER_PORT = 8197  # not serve's default: a teacher's own serve on this machine is left alone
ECHOES = 30  # keystrokes each browser types, one at a time, timing each echo
CHROMIUM = "/usr/bin/chromium"


def percentiles(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.0f}, p95 {p95(values):.0f}" if values else "none"


def _rss_mib(pid: int) -> float:
    """The resident memory of a process and all its descendants (MiB)."""
    return sum(processes.rss_kib(each) for each in [pid, *processes.descendants(pid)]) / 1024


def _kubectl_round(count: int, repeats: int) -> list[float]:
    """count students at once, each running `kubectl get pods` repeats times with their own kubeconfig: ms each."""
    results: list[float] = []
    lock = threading.Lock()

    def student(number: int) -> None:
        config = classroom.class_dir() / f"{classroom.namespace_of(number)}.kubeconfig"
        for _ in range(repeats):
            began = time.monotonic()
            kubectl.run("get", "pods", config=config, context=None, check=False, timeout=60)
            with lock:
                results.append((time.monotonic() - began) * 1000)

    threads = [threading.Thread(target=student, args=(n,)) for n in range(1, count + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _browsers(links: list[str], out: Path) -> list[dict]:
    plans = [{"url": url, "actions": [["prompt"], ["echo", ECHOES]]} for url in links]
    config = {"chromium": CHROMIUM, "out": str(out), "students": plans}
    done = host.run(
        ["node", str(ROOT / "web" / "check-class.cjs"), json.dumps(config)], timeout=900, cwd=ROOT, check=False
    )
    if done.returncode != 0 or not out.is_file():
        raise WorkshopError(f"the browsers failed: {(done.stderr.strip().splitlines() or ['?'])[-1][:200]}")
    return json.loads(out.read_text())["students"]


def browser_figures(most: int, say: Callable[[str], None] = print) -> None:
    """The class in a browser: link to prompt and keystroke echo with N browsers at once, beside kubectl from a
    student's laptop; cluster and teacher memory per open terminal; students per node."""
    if not Path(CHROMIUM).is_file() or not shutil.which("node"):
        raise WorkshopError("bench --browsers needs Debian's chromium and Node.js: apt-get install chromium nodejs npm")
    classroom.up(most, say=quiet, address="127.0.0.1")
    serve = subprocess.Popen(
        [str(ROOT / "scripts" / "class"), "serve", "--address", "127.0.0.1", "--port", str(BROWSER_PORT)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert serve.stdout is not None
        for line in serve.stdout:
            if "the teacher's page" in line:
                break
        else:
            raise WorkshopError("scripts/class serve stopped before serving; run it alone to see why")
        secrets = json.loads((classroom.class_dir() / classroom.SERVE_FILE).read_text())["students"]
        links = [f"http://127.0.0.1:{BROWSER_PORT}/s/{secrets[classroom.namespace_of(n)]}" for n in range(1, most + 1)]
        base_nodes, _ = _nodes_usage()
        base_teacher = _rss_mib(serve.pid)
        with tempfile.TemporaryDirectory(prefix="workshop-bench-") as folder:
            rows = []
            for count in sorted({1, most}):
                reports = _browsers(links[:count], Path(folder) / f"{count}.json")
                failed = [r.get("failed") for r in reports if r.get("failed")]
                if failed:
                    raise WorkshopError(f"a browser failed with {count} at once: {failed[0]}")
                prompts = [float(r["steps"][0]["ms"]) for r in reports]
                shells = [
                    float(r["steps"][0]["serverMs"]) for r in reports if r["steps"][0].get("serverMs") is not None
                ]
                echoes = [float(ms) for r in reports for ms in r["steps"][1]["echo"]]
                kubectl_ms = _kubectl_round(count, 5)
                rows.append((count, prompts, shells, echoes, kubectl_ms))
            # every terminal is open now (tmux keeps each shell); kubectl exec runs only while a page is open
            nodes_now, _ = _nodes_usage()
        say(
            "browsers    at once | link to prompt ms (the browsers run here) | WebSocket to shell ms (the server) | "
            "echo ms per keystroke | kubectl get pods ms (a student's kubeconfig)"
        )
        for count, prompts, shells, echoes, kubectl_ms in rows:
            say(
                f"browsers    {count:>7} | {percentiles(prompts)} | {percentiles(shells)} | {percentiles(echoes)} | "
                f"{percentiles(kubectl_ms)}"
            )
        per_terminal = max(0.0, nodes_now - base_nodes) / most
        say(
            f"browsers    cluster memory +{per_terminal:.0f} MiB per open terminal (the kind nodes, docker stats); "
            f"teacher's serve at rest {base_teacher:.0f} MiB"
        )
        allocatable = _worker_allocatable_mib()
        quota_memory = float(class_fence.quota()["requests.memory"].rstrip("Mi"))
        say(
            f"browsers    students per node ({allocatable:.0f} MiB allocatable): {allocatable / quota_memory:.0f} at "
            f"their quota's memory requests ({quota_memory:.0f} MiB, the lecture's peak and the terminal), "
            f"{allocatable / max(per_terminal, 1):.0f} by the terminal's measured memory alone"
        )
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
        classroom.down(say=quiet)


def _worker_allocatable_mib() -> float:
    nodes = json.loads(kubectl.run("get", "nodes", "-o", "json").stdout)["items"]
    workers = [n for n in nodes if "node-role.kubernetes.io/control-plane" not in n["metadata"].get("labels", {})]
    memory = (workers or nodes)[0]["status"]["allocatable"]["memory"]
    return class_fence._quantity(memory)
