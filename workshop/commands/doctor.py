"""scripts/doctor: is this machine ready to give the lecture?

Every check is a small function that looks at the real thing (the engine, the cluster, the
registry, a port, the terminal) and returns one Result: PASS, WARN or FAIL, what it found and,
when something is wrong, the exact command or step that fixes it. Nothing is changed.
The exit status is 1 when any check FAILs, 0 otherwise (WARNs do not block the lecture)."""

import argparse
import datetime
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from workshop.cli import FAILED, OK, WorkshopError, run
from workshop.cluster import kind, kubectl, lifecycle, providers
from workshop.deck import docker_commands, reader
from workshop.deck.geometry import MIN_COLS, MIN_ROWS
from workshop.machine import app_images, host, ports, registry
from workshop.machine.engine import ENGINE as engine
from workshop.machine.engines import version_tuple
from workshop.names import LECTURE_PORTS
from workshop.paths import DECK, EXTRAS, ROOT, is_lecture
from workshop.rehearsal import fit

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
PINS = ROOT / "requirements" / "workshop.txt"
INSTALL_PINS = ".venv/bin/python -m pip install --no-deps --require-hashes -r requirements/workshop.txt"


@dataclass
class Result:
    name: str
    status: str
    found: str
    fix: str = ""


def _install(linux: str, mac: str) -> str:
    return mac if sys.platform == "darwin" else linux


# ---------------------------------------------------------------- programs


def check_docker() -> Result:
    found = engine.facts(timeout=10)
    if found:
        pinned = engine.recorded_endpoint()
        where = (
            f"{found.describe()}, at {pinned['host']} (recorded by prepare, from {pinned['from']})"
            if pinned
            else f"{found.describe()}; no engine recorded yet (scripts/prepare records the one it uses)"
        )
        differs = []
        if found.builder == "legacy":
            differs.append("the legacy builder prints `Using cache` where the slides show BuildKit's `CACHED`")
        if version_tuple(found.version) < (20, 10):
            differs.append(f"Docker {found.version} is older than 20.10, the oldest engine the deck is rehearsed on")
        if lifecycle.api_tuple(found.api) < lifecycle.MIN_DOCKER_API:
            differs.append(
                f"its API {found.api} is below {'.'.join(map(str, lifecycle.MIN_DOCKER_API))} (Docker 25), "
                f"which kind v0.33 and current Docker clients expect"
            )
        if differs:
            return Result(
                "docker",
                WARN,
                f"{where}; " + "; ".join(differs),
                "the deck still runs; install a current Docker (Docker Desktop, or Docker Engine 28+) "
                "to see what the slides show",
            )
        return Result("docker", PASS, where)
    if not shutil.which("docker"):
        return Result(
            "docker",
            FAIL,
            "the docker command is not installed",
            "install Docker (Docker Desktop, or `sudo apt-get install -y docker.io`), then scripts/prepare",
        )
    return Result(
        "docker",
        FAIL,
        "the docker command is installed but no engine answers",
        _install(
            "scripts/prepare (it starts dockerd when run as root) or `sudo systemctl start docker`",
            "start Docker Desktop and wait until it says it is running",
        ),
    )


def check_combinations() -> Result:
    """Engine and cluster settings that are known to break a lecture together."""
    found = engine.facts(timeout=10)
    if found is None:
        return Result("combinations", WARN, "no engine answers, so nothing to compare", "scripts/prepare")
    provider = (providers.chosen() or {}).get("provider")
    notes, fixes = [], []
    if found.containerd_store and provider == "kind":
        notes.append("`kind load docker-image` fails with the containerd image store")
        fixes.append("push to the local registry (localhost:5001) as the deck does, never `kind load`")
    if notes:
        return Result("combinations", WARN, "; ".join(notes), "; ".join(fixes))
    return Result(
        "combinations",
        PASS,
        f"nothing known to clash ({found.image_store} store, "
        f"cgroup v{found.cgroup_version}, cluster {provider or 'none yet'})",
    )


def check_expect() -> Result:
    found = shutil.which("expect")
    if found:
        return Result("expect", PASS, found)
    return Result(
        "expect", FAIL, "not on PATH (lookatme types each box's command with it)", host.install_hint("expect")
    )


def check_kubectl() -> Result:
    try:
        program = kubectl.program()
    except WorkshopError:
        return Result("kubectl", FAIL, "not installed", "install kubectl: https://kubernetes.io/docs/tasks/tools/")
    version = kubectl.client_version()
    if version is None:
        return Result(
            "kubectl",
            FAIL,
            f"{program} does not report its version",
            "reinstall kubectl: https://kubernetes.io/docs/tasks/tools/",
        )
    return Result("kubectl", PASS, f"client {version} ({program})")


def check_kind() -> Result:
    if kind.available():
        done = host.run([kind.program() or "kind", "version"], timeout=20, check=False)
        return Result("kind", PASS, (done.stdout.strip() or "installed").split(" go")[0])
    provider = (providers.chosen() or {}).get("provider")
    if provider == "existing":
        return Result("kind", WARN, f"not installed; not needed, the workshop cluster is {provider}")
    return Result(
        "kind",
        FAIL,
        "not installed, and nothing else can make a cluster here",
        "install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation "
        "(or scripts/cluster up --context NAME with a cluster you have)",
    )


# ---------------------------------------------------------------- the cluster and the registry


def check_kubernetes() -> Result:
    """The cluster's release against its end of life, kubectl's skew, and cgroup v1 under a new kubelet."""
    chosen = providers.chosen()
    if chosen is None or not kubectl.exists():
        return Result("kubernetes", WARN, "no workshop cluster yet, so no version to check", "scripts/cluster up")
    server = kubectl.server_version(timeout=10)
    if server is None:
        return Result("kubernetes", FAIL, "the cluster does not say its version", "scripts/cluster status")
    client = kubectl.client_version()
    kind_made = chosen.get("provider") == "kind"
    found = engine.facts(timeout=10) if kind_made else None
    cgroup = found.cgroup_version if found else None
    wrong = lifecycle.problems(server, client, cgroup, kind_made, datetime.date.today())
    said = f"server {server}, kubectl {client or '?'}" + (f", engine cgroup v{cgroup}" if cgroup else "")
    if wrong:
        return Result(
            "kubernetes", WARN, f"{said}; " + "; ".join(what for what, _ in wrong), "; ".join(fix for _, fix in wrong)
        )
    return Result(
        "kubernetes",
        PASS,
        f"{said}: supported until "
        f"{lifecycle.END_OF_LIFE.get(lifecycle.minor_of(server) or 0, '?')}, kubectl within one minor",
    )


def check_cluster() -> Result:
    chosen = providers.chosen()
    if chosen is None or not kubectl.exists():
        return Result("cluster", FAIL, "no workshop cluster (.workshop/kubeconfig)", "scripts/cluster up")
    try:
        summary = kubectl.node_summary(timeout=10)
    except WorkshopError as error:
        return Result("cluster", FAIL, str(error), "scripts/cluster up")
    if summary.answers:
        return Result("cluster", PASS, f"{chosen['provider']}: {summary}")
    return Result(
        "cluster", FAIL, f"{chosen['provider']}: {summary}", "scripts/cluster up (scripts/cluster status says more)"
    )


def check_registry() -> Result:
    if registry.status():
        return Result("registry", PASS, f"answering on {registry.ADDRESS} ({registry.describe()})")
    if ports.busy(registry.PORT):
        return Result(
            "registry",
            FAIL,
            f"port {registry.PORT} is taken by something that is not "
            f"an image registry ({port_owner(registry.PORT) or 'unknown'})",
            f"{stop_command(registry.PORT)}, then scripts/prepare registry app-images",
        )
    return Result("registry", FAIL, f"nothing answers on {registry.ADDRESS}", "scripts/prepare registry app-images")


# ---------------------------------------------------------------- images


def _presence(name: str, wanted: list[str], reachable: str | None, present, where: str, fix: str) -> Result:
    """PASS when every wanted image is present; `reachable` is why they cannot be looked for, if so."""
    if reachable:
        return Result(name, FAIL, f"cannot look for {len(wanted)} images: {reachable}", fix)
    missing = [image for image in wanted if not present(image)]
    if missing:
        return Result(
            name, FAIL, f"{len(wanted) - len(missing)}/{len(wanted)} {where}, missing {', '.join(missing)}", fix
        )
    return Result(name, PASS, f"all {len(wanted)} {where}: {', '.join(wanted)}")


def check_images() -> Result:
    wanted = docker_commands.deck_images()
    wanted += [image for image in app_images.needed_images() if image not in wanted]
    why = None if engine.server_version(timeout=10) else "no Docker engine answers"
    return _presence("images", wanted, why, engine.image_exists, "present", "scripts/prepare")


def check_app_images() -> Result:
    wanted = [image for image in app_images.manifest_images() if image.startswith(registry.ADDRESS + "/")]
    why = None if registry.status() else "the registry does not answer"
    return _presence("app images", wanted, why, app_images.in_registry, "in the registry", "scripts/prepare")


# ---------------------------------------------------------------- ports


def _container_publishing(port: int) -> str | None:
    if not engine.server_version(timeout=5):
        return None
    names = engine.containers_publishing(port)
    return names[0] if names else None


def port_owner(port: int) -> str:
    container = _container_publishing(port)
    if container:
        return f"container {container}"
    process = ports.listener(port)
    return f"{process[1]} (pid {process[0]})" if process else ""


def stop_command(port: int) -> str:
    container = _container_publishing(port)
    if container:
        return f"docker rm -f {container}"
    process = ports.listener(port)
    if process:
        return f"kill {process[0]}"
    return f"stop what listens on port {port} (`{ports.finder(port)}` shows it)"


def check_port(port: int) -> Result:
    name = f"port {port}"
    if not ports.busy(port):
        return Result(name, PASS, "free")
    owner = port_owner(port)
    return Result(name, FAIL, f"in use{' by ' + owner if owner else ''}; the deck needs it free", stop_command(port))


# ---------------------------------------------------------------- the terminal and the packages


def check_terminal() -> Result:
    if not sys.stdout.isatty():
        return Result(
            "terminal",
            WARN,
            "output is not a terminal, so its size is unknown",
            "run scripts/doctor in the window you will present from",
        )
    size = os.get_terminal_size(sys.stdout.fileno())
    found = f"{size.columns}x{size.lines}"
    if size.columns < MIN_COLS or size.lines < MIN_ROWS:
        return Result(
            "terminal",
            FAIL,
            f"{found}, smaller than {MIN_COLS}x{MIN_ROWS}",
            "enlarge the window or make the font smaller",
        )
    return Result("terminal", PASS, f"{found} (at least {MIN_COLS}x{MIN_ROWS})")


def pinned_versions(path: Path = PINS) -> list[tuple]:
    pins = []
    for line in path.read_text().splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:  # "NAME==VERSION [; MARKER] \", its hashes on the next lines
            pins.append((name.strip(), version.split(";")[0].split()[0]))
    return pins


def check_packages() -> Result:
    wrong = []
    pins = pinned_versions()
    for name, version in pins:
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            have = "missing"
        if have != version:
            wrong.append(f"{name} {have} (pinned {version})")
    if wrong:
        return Result("packages", FAIL, ", ".join(wrong), INSTALL_PINS)
    lookatme = dict(pins).get("lookatme", "?")
    urwid = dict(pins).get("urwid", "?")
    return Result(
        "packages", PASS, f"all {len(pins)} pins of requirements/workshop.txt (lookatme {lookatme}, urwid {urwid})"
    )


def plan_name(path: Path) -> str:
    return "plan" if is_lecture(path) else f"plan {path.name}"


def check_plan(path: Path = DECK) -> Result:
    """Does the lecture fit its slot by the honest clock (workshop/rehearsal/fit.py)?"""
    name = plan_name(path)
    deck = reader.read(path)
    parts = fit.plan(deck)
    needed = sum(part.minutes for part in parts)
    problems = fit.overruns(parts, deck.minutes)
    if problems:
        return Result(
            name,
            FAIL,
            f"{problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            f"move slides to {EXTRAS.name} or give the parts other minutes; the table below has each part",
        )
    return Result(
        name,
        PASS,
        f"{needed:.1f} min by the honest clock, {deck.minutes - needed:.1f} of {deck.minutes:g} left for questions",
    )


def plan_tables() -> list[str]:
    """Each deck's plan: minutes per part by the honest clock, against its budget."""
    lines = []
    for path in reader.workshop_decks():
        lines += [
            "",
            f"{path.name} by the honest clock (each slide charged for its words, listed code, notes and "
            f"live boxes, plus each box's recorded machine time):",
        ]
        try:
            lines += ["  " + line for line in fit.describe(reader.read(path))]
        except WorkshopError as error:
            lines.append(f"  cannot plan it: {error}")
    return lines


# ---------------------------------------------------------------- running them


def checks() -> list[tuple[str, Callable[[], Result]]]:
    """(name, check) in the order they are shown."""
    ports = [(f"port {port}", lambda port=port: check_port(port)) for port in LECTURE_PORTS]
    return [
        ("docker", check_docker),
        ("combinations", check_combinations),
        ("expect", check_expect),
        ("kubectl", check_kubectl),
        ("kind", check_kind),
        ("cluster", check_cluster),
        ("kubernetes", check_kubernetes),
        ("registry", check_registry),
        ("images", check_images),
        ("app images", check_app_images),
        *ports,
        ("terminal", check_terminal),
        ("packages", check_packages),
        *[(plan_name(path), lambda path=path: check_plan(path)) for path in reader.workshop_decks()],
    ]


def run_check(name: str, check: Callable[[], Result]) -> Result:
    """A check that breaks is a FAIL row, never a traceback."""
    try:
        return check()
    except (WorkshopError, OSError, ValueError, subprocess.SubprocessError) as error:
        why = (str(error).splitlines() or [type(error).__name__])[0]
        return Result(name, FAIL, f"could not check: {why}", "scripts/prepare, then scripts/doctor again")


def exit_status(results: Sequence[Result]) -> int:
    return FAILED if any(result.status == FAIL for result in results) else OK


def table(results: Sequence[Result]) -> str:
    width = max(len(result.name) for result in results)
    lines = []
    for result in results:
        line = f"{result.status}  {result.name:<{width}}  {result.found}"
        if result.fix and result.status != PASS:
            line += f"  -> fix: {result.fix}"
        lines.append(line)
    failed = sum(result.status == FAIL for result in results)
    warned = sum(result.status == WARN for result in results)
    passed = len(results) - failed - warned
    verdict = "ready for the lecture" if not failed else "NOT ready: fix the FAIL rows above"
    lines.append(f"doctor: {passed} passed, {warned} warning{'s' * (warned != 1)}, {failed} failed: {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    results = [run_check(name, check) for name, check in checks()]
    if args.json:
        print(json.dumps({"ready": exit_status(results) == 0, "checks": [asdict(r) for r in results]}, indent=2))
    else:
        print(table(results))
        print("\n".join(plan_tables()))
    return exit_status(results)


if __name__ == "__main__":
    run(main, "doctor")
