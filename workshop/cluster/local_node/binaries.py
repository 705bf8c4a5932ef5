"""Builds the node's programs from upstream source with the Go toolchain, once per version.

The Go modules live in build/ beside this file: kubernetes/ (kube-apiserver, kubelet, ...),
coredns/ and pause/. Results go to .workshop/k8s-bin/v<kubernetes version>/, with a stamp per
program: a second run with the same sources reuses them at once.
"""
import fcntl
import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Callable, Dict, List

from workshop import paths
from workshop.cli import WorkshopError
from workshop.cluster.local_node import ociimage
from workshop.machine import host

BUILD = Path(__file__).resolve().parent / "build"
KUBE_COMMANDS = ["kubeadm", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl"]
PAUSE_IMAGE = "localhost/workshop/pause:1.0"
PROBE_IMAGE = "localhost/workshop/probe:1.0"
BUILD_LOG = "k8s-build.log"


def required_version(module_dir: Path, module: str) -> str:
    """The version of `module` that the go.mod in module_dir requires."""
    text = (module_dir / "go.mod").read_text()
    found = re.search(r"^\s*(?:require\s+)?" + re.escape(module) + r"\s+(v\S+)", text, re.M)
    if not found:
        raise WorkshopError(f"{module_dir / 'go.mod'} does not require {module}")
    return found.group(1)


def kubernetes_version() -> str:
    return required_version(BUILD / "kubernetes", "k8s.io/kubernetes")


def bin_dir(version: str = "") -> Path:
    return paths.STATE / "k8s-bin" / (version or kubernetes_version())


def version_ldflags(version: str) -> str:
    """-X flags that make `kubectl version` and every component report `version`."""
    major, minor = version.lstrip("v").split(".")[:2]
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor,
              "gitTreeState": "clean", "gitCommit": "", "buildDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    flags = ["-s", "-w"]
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


def _go_build(go: str, module_dir: Path, package: str, output: Path, ldflags: str, log: Path) -> None:
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=readonly", GOTOOLCHAIN="local")
    command = ["nice", "-n", "19", go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(output) + ".tmp", package]
    try:
        host.logged(command, log, timeout=3600, what=f"go build of {output.name}", env=env, cwd=module_dir)
    except WorkshopError:
        text = log.read_text(errors="replace")
        if re.search(r"dial tcp|proxy\.golang\.org|i/o timeout|no such host|connection refused|403 Forbidden", text[-4000:]):
            raise WorkshopError(f"could not download the Go modules for {output.name}: the Go module proxy is not "
                                f"reachable or refuses a version (see {log}).") from None
        raise
    os.replace(str(output) + ".tmp", output)


def ensure_binaries(say: Callable[[str], None] = print) -> Path:
    """Build whatever is missing or stale; return the folder with every program and pause.tar.

    A lock file makes a second caller wait for a build already under way instead of racing it."""
    version = kubernetes_version()
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
    times: Dict[str, float] = json.loads(times_file.read_text()) if times_file.exists() else {}
    go = ""

    jobs: List[tuple] = []
    k8s_key = _sources_key(BUILD / "kubernetes", version)
    for name in KUBE_COMMANDS:
        jobs.append((name, BUILD / "kubernetes", f"k8s.io/kubernetes/cmd/{name}", version_ldflags(version), k8s_key))
    jobs.append(("cri-reset", BUILD / "kubernetes", "./crireset", "-s -w",
                 k8s_key + _sources_key(BUILD / "kubernetes" / "crireset")))
    jobs.append(("coredns", BUILD / "coredns", ".", "-s -w", _sources_key(BUILD / "coredns")))
    jobs.append(("pause", BUILD / "pause", ".", "-s -w", _sources_key(BUILD / "pause")))
    jobs.append(("probe", BUILD / "probe", ".", "-s -w", _sources_key(BUILD / "probe")))

    for name, module_dir, package, ldflags, key in jobs:
        output, stamp = target / name, target / f".{name}.stamp"
        if output.exists() and stamp.exists() and stamp.read_text() == key:
            continue
        go = go or host.go_program("the local node's Kubernetes programs")
        say(f"building {name} (log: {log})...")
        started = time.monotonic()
        _go_build(go, module_dir, package, output, ldflags, log)
        times[name] = round(time.monotonic() - started, 1)
        stamp.write_text(key)
        times_file.write_text(json.dumps(times, indent=2) + "\n")

    for name, reference in (("pause", PAUSE_IMAGE), ("probe", PROBE_IMAGE)):
        image, image_stamp = target / f"{name}.tar", target / f".{name}.tar.stamp"
        key = (target / f".{name}.stamp").read_text() + reference
        if not (image.exists() and image_stamp.exists() and image_stamp.read_text() == key):
            ociimage.write_single_binary_image(image, target / name, f"/{name}", reference)
            image_stamp.write_text(key)
    return target
