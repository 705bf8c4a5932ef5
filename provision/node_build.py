"""Builds the programs of the workshop's kind node image from upstream source, once per version,
for machines where `kindest/node` cannot be pulled (see kind_node/build.sh for the image itself).

The Go modules live in kind_node/src/: kubernetes/ (kubeadm, kube-apiserver, kubelet, kubectl, ...),
coredns/ and pause/. The Kubernetes version is versions.env's (kubernetes/go.mod requires the same;
tests/test_versions.py checks it). Results go to .workshop/k8s-bin/<version>/ with a stamp per program, so a
second run with the same sources reuses them at once.
"""

import argparse
import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from workshop import cli, paths, versions
from workshop.cli import WorkshopError
from workshop.machine import host

RECIPE = Path(__file__).resolve().parent / "kind_node"
SOURCES = RECIPE / "src"
KUBE_COMMANDS = [
    "kubeadm",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
]
BUILD_LOG = "k8s-build.log"
# The builds' niceness: 19, the lowest priority, so a presenter's laptop stays usable while Kubernetes
# compiles. .ci/run gives 0: there the cluster the tests wait for is at the end of this build, and at 19 it
# got only what the other phases left (on a fresh machine the Go builds took 1,735 of the 3,100 busy
# CPU-seconds before the tests, and the cluster was ready 30 minutes in).
NICENESS_VARIABLE = "WORKSHOP_BUILD_NICENESS"
STRIP = "-s -w"  # no symbol table, no DWARF: every program of the node image
# The linker drops DWARF anyway (-w), so the compiler need not make it: a cold build of client-go took 8.5%
# fewer CPU-seconds without it (125 and 131 against 136 and 144). The programs work the same, so the
# stamps below leave it out and a machine's programs built before it stay valid.
NO_DWARF = "-gcflags=all=-dwarf=false"


def required_version(module_dir: Path, module: str) -> str:
    """The version of `module` that the go.mod in module_dir requires."""
    text = (module_dir / "go.mod").read_text()
    found = re.search(r"^\s*(?:require\s+)?" + re.escape(module) + r"\s+(v\S+)", text, re.M)
    if not found:
        raise WorkshopError(f"{module_dir / 'go.mod'} does not require {module}")
    return found.group(1)


def bin_dir(version: str = "") -> Path:
    return paths.state() / "k8s-bin" / (version or versions.kubernetes_version())


def version_ldflags(version: str) -> str:
    """-X flags that make `kubectl version` and every component report `version`."""
    major, minor = version.lstrip("v").split(".")[:2]
    values = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "gitCommit": "",
        "buildDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    flags = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{name}={value}" for name, value in values.items()]
    return " ".join(flags)


def _sources_key(module_dir: Path, extra: str = "") -> str:
    """A digest of a build module's files: a change to any of them means a rebuild."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(module_dir.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def niceness() -> str:
    """The niceness every Go build here runs at: WORKSHOP_BUILD_NICENESS, 0 to 19, or 19."""
    value = os.environ.get(NICENESS_VARIABLE, "19").strip()
    if value not in {str(level) for level in range(20)}:
        raise WorkshopError(f"{NICENESS_VARIABLE} must be a niceness from 0 to 19, not {value!r}: unset it for 19")
    return value


def _go_build(go: str, module_dir: Path, package: str, output: Path, ldflags: str, log: Path) -> None:
    """How every Go program of the node image is built (here and for build.sh): static, without local
    paths, stripped (no DWARF made at all), from the modules go.sum pins, with the Go on the machine, at niceness() (low priority unless CI says)."""
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=readonly", GOTOOLCHAIN="local")
    flags = f"{STRIP} {ldflags}".strip()
    command = [
        *("nice", "-n", niceness(), go, "build", "-trimpath", NO_DWARF, "-ldflags", flags),
        *("-o", f"{output}.tmp", package),
    ]
    try:
        host.logged(command, log, timeout=3600, what=f"go build of {output.name}", env=env, cwd=module_dir)
    except WorkshopError:
        text = log.read_text(errors="replace")
        if re.search(
            r"dial tcp|proxy\.golang\.org|i/o timeout|no such host|connection refused|403 Forbidden", text[-4000:]
        ):
            raise WorkshopError(
                f"could not download the Go modules for {output.name}: the Go module proxy is not "
                f"reachable or refuses a version (see {log})."
            ) from None
        raise
    os.replace(str(output) + ".tmp", output)


def jobs(version: str) -> list[tuple[str, Path, str, str, str]]:
    """(program, module folder, package, ldflags, stamp key) for every program the node image takes from here."""
    kubernetes = SOURCES / "kubernetes"
    key = _sources_key(kubernetes, version)
    found = [
        (name, kubernetes, f"k8s.io/kubernetes/cmd/{name}", version_ldflags(version), key) for name in KUBE_COMMANDS
    ]
    for name in ("coredns", "pause"):
        found.append((name, SOURCES / name, ".", "", _sources_key(SOURCES / name)))
    return found


def ensure_binaries(say: Callable[[str], None] = print) -> Path:
    """Build whatever is missing or stale; return the folder with every program.

    A lock file makes a second caller wait for a build already under way instead of racing it."""
    version = versions.kubernetes_version()
    sources = required_version(SOURCES / "kubernetes", "k8s.io/kubernetes")
    if sources != version:
        raise WorkshopError(
            f"versions.env names Kubernetes {version} but {SOURCES / 'kubernetes' / 'go.mod'} requires {sources}: "
            f"make them agree (docs/kubernetes-releases.md says how), then build again"
        )
    target = bin_dir(version)
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another build into {target} to finish...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_all(version, target, say)


def _build_all(version: str, target: Path, say: Callable[[str], None]) -> Path:
    log = paths.state_dir("logs") / BUILD_LOG
    times_file = target / "build-times.json"
    times: dict[str, float] = json.loads(times_file.read_text()) if times_file.exists() else {}
    for name, module_dir, package, ldflags, key in jobs(version):
        started = time.monotonic()
        if build_one(name, module_dir, package, ldflags, key, target, log, say):
            times[name] = round(time.monotonic() - started, 1)
            times_file.write_text(json.dumps(times, indent=2) + "\n")
    return target


def build_one(
    name: str,
    module_dir: Path,
    package: str,
    ldflags: str,
    key: str,
    target: Path,
    log: Path,
    say: Callable[[str], None],
) -> bool:
    """Build target/name unless its stamp says these sources and flags made it; True when it built."""
    output, stamp = target / name, target / f".{name}.stamp"
    if output.exists() and stamp.exists() and stamp.read_text() == key:
        return False
    go = host.go_program("the kind node image's Go programs")
    say(f"building {name} (log: {log})...")
    _go_build(go, module_dir, package, output, ldflags, log)
    stamp.write_text(key)
    return True


def main(argv: Sequence[str]) -> None:
    """build.sh's Go programs (etcd, crictl, ...), built the same way as the Kubernetes ones."""
    parser = argparse.ArgumentParser(prog="node_build", description=main.__doc__)
    for name in ("name", "module_dir", "package", "output_dir", "log"):
        parser.add_argument(name)
    parser.add_argument("ldflags", nargs="?", default="", help="-X flags, after the -s -w every program gets")
    args = parser.parse_args(argv)
    module_dir = Path(args.module_dir)
    key = _sources_key(module_dir, f"{args.package} {args.ldflags}")
    build_one(args.name, module_dir, args.package, args.ldflags, key, Path(args.output_dir), Path(args.log), print)


if __name__ == "__main__":
    cli.run(main, "node_build")
