"""The kind node image, where kindest/node cannot be pulled: built here from Debian's packages and the
Kubernetes programs node_build.py compiles from source (kind_node/build.sh), once per recipe. The
lecture's runtime (workshop/cluster/kind.py) only looks for it and names this when it is missing:

    scripts/cluster build              the programs, then the node image (where the upstream one cannot be pulled)
    scripts/cluster build --programs   the programs only (CI starts this early, before its engine is ready)
"""

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence

from provision import node_build
from provision.standins import base_images
from workshop import cli, ledger, versions
from workshop.cli import WorkshopError
from workshop.cluster import kind
from workshop.machine import host, installed
from workshop.machine.engine import ENGINE as engine
from workshop.names import KIND_NODE_BASE
from workshop.paths import ROOT, state

RECIPE = node_build.RECIPE


def recipe_hash() -> str:
    """What the node image is made from: the versions file and every file of the recipe."""
    digest = hashlib.sha256(versions.FILE.read_bytes())
    for path in sorted(p for p in RECIPE.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(RECIPE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def stamp_file():
    return state() / "kind-node" / "recipe"


def ensure(say: Callable[[str], None] = print) -> str:
    """The node image kind.up will use, pulled or built (again when its recipe changed); a one-line summary."""
    if kind.upstream_image_here():
        return f"{kind.UPSTREAM_IMAGE.split('@')[0]} (kind's own, pulled)"
    stamp = stamp_file()
    if engine.image_exists(kind.LOCAL_IMAGE) and stamp.is_file() and stamp.read_text() == recipe_hash():
        return f"{kind.LOCAL_IMAGE} (built here before; its recipe is unchanged)"
    started = time.monotonic()
    build(say)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(recipe_hash())
    return f"{kind.LOCAL_IMAGE} built in {time.monotonic() - started:.0f} s"


def build(say: Callable[[str], None]) -> None:
    upstream, local = kind.UPSTREAM_IMAGE.split("@")[0], kind.LOCAL_IMAGE
    bins = node_build.ensure_binaries(say)
    containerd = installed.stack_program("containerd")
    if containerd is None:
        raise WorkshopError(
            f"{upstream} cannot be pulled, and building a node image here needs "
            f"the containerd 2.1 of the workshop's Docker stack: run scripts/prepare engine as root"
        )
    log = host.log_path("kind-node-build.log")
    say(f"{upstream} cannot be pulled: building {local} here (minutes the first time); log in {host.shown(log)}")
    base_images.ensure_base_images(say, [KIND_NODE_BASE])  # pulled, or its stand-in where nothing can be
    env = {
        **os.environ,
        "ENGINE_BIN": str(containerd.parent),
        "WORKSHOP_ROOT": str(ROOT),
        "K8S_BIN": str(bins),
        "KIND_NODE_WORK": str(state() / "kind-node"),
        "NODE_BASE_IMAGE": KIND_NODE_BASE,
        "WORKSHOP_PYTHON": sys.executable,
    }
    host.logged(["bash", str(RECIPE / "build.sh")], log, timeout=3600, what="building the kind node image", env=env)
    ledger.record("image", local, id=engine.image_id(local), role="kind-node")
    built = state() / "kind-node" / "tags"  # the base and component images it is made of
    for tag in built.read_text().split() if built.is_file() else []:
        ident = engine.image_id(tag) if tag != local else None
        if ident:
            ledger.record("image", tag, id=ident, role="kind-build")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", action="store_true", help="only the Kubernetes programs, not the image")
    args = parser.parse_args(argv)
    started = time.monotonic()
    target = node_build.ensure_binaries(say=lambda line: print(line, flush=True))
    print(f"Kubernetes {versions.kubernetes_version()} programs ready in {target} ({time.monotonic() - started:.1f} s)")
    if not args.programs:
        print(f"node image: {ensure(say=lambda line: print(line, flush=True))}")
    return 0


if __name__ == "__main__":
    cli.run(main, "cluster build")
