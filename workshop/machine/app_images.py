"""The lecture's own images: the ones the Kubernetes manifests name, made available in the
local registry (localhost:5001) so pods can pull them (okpy-mini built from k8s_demo/, the rest
mirrored from the base images prepare already made), and the ones the deck's boxes build, built
once ahead of class so that every build in class is a cache hit."""

import os
import re
from pathlib import Path

from workshop import ledger, names
from workshop.cli import Note, WorkshopError, quiet
from workshop.deck import reader
from workshop.deck.docker_commands import dockerfile_bases
from workshop.machine import host, registry
from workshop.machine.engine import ENGINE as engine
from workshop.machine.registry import ADDRESS
from workshop.paths import ROOT

K8S_DEMO = ROOT / "k8s_demo"
APP = names.APP_IMAGE
IMAGE_LINE = re.compile(r"^\s*image:\s*(\S+)", re.MULTILINE)
LOG = "app-images.log"


# The base images the lecture's files name, in build order (where nothing can be pulled, scripts/prepare
# builds the Python and Redis stand-ins on the Debian one), and other names of the same images.
BASE_IMAGES = (names.DEBIAN_IMAGE, names.PYTHON_IMAGE, names.REDIS_IMAGE, registry.IMAGE)
ALIASES = {"python:3.12-slim": names.PYTHON_IMAGE}
_SKIP_DIRS = {".git", ".venv", ".workshop", "node_modules", "__pycache__", "provision"}


def repository_dockerfiles(root: Path = ROOT) -> list[Path]:
    """The lecture's Dockerfiles (the basement's own, under provision/, are not the lecture's)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile"):
                found.append(Path(folder) / name)
    return found


def needed_images(root: Path = ROOT) -> list[str]:
    """The base images the workshop always uses and their other names, then any other base a Dockerfile
    of the repository names."""
    needed = [*BASE_IMAGES, *ALIASES]
    for path in repository_dockerfiles(root):
        for image in dockerfile_bases(path.read_text(errors="replace")):
            if image not in needed:
                needed.append(image)
    return needed


def manifest_images(folder: Path = K8S_DEMO) -> list[str]:
    """Every image a manifest in folder names, in order, once."""
    found: list[str] = []
    for manifest in sorted(folder.glob("*.yaml")):
        for image in IMAGE_LINE.findall(manifest.read_text()):
            if image not in found:
                found.append(image)
    return found


def in_registry(image: str) -> bool:
    """Does the local registry hold this image (localhost:5001/NAME:TAG)?"""
    name, _, tag = image[len(ADDRESS) + 1 :].rpartition(":")
    return registry.digest(name, tag) is not None


def make_image(image: str, log: Path) -> None:
    """Build okpy-mini at this tag, or tag the base image of the same name, locally."""
    if image.startswith(APP + ":"):
        version = image.rpartition(":")[2]
        iid = ledger.before_build(image, "app")
        engine.build(
            K8S_DEMO, tag=image, iidfile=iid, build_args={"APP_VERSION": version}, log=log, what=f"building {image}"
        )
        return
    source = image[len(ADDRESS) + 1 :]
    if not engine.image_exists(source):
        raise WorkshopError(f"{image} mirrors {source}, which is not on this machine: run scripts/prepare images")
    engine.tag(source, image)


def ensure_app_images(note: Note = quiet) -> str:
    """Make every manifest's localhost:5001 image present locally and in the registry."""
    log = host.log_path(LOG)
    ours = [image for image in manifest_images() if image.startswith(ADDRESS + "/")]
    pushed = []
    for image in ours:
        built_here = image.startswith(APP + ":")  # rebuilt every time (cached: a second), so never stale
        if built_here or not engine.image_exists(image):
            note(f"making {image}")
            make_image(image, log)
            ledger.record("image", image, id=engine.image_id(image), role="app")
        if built_here or not in_registry(image):
            note(f"pushing {image}")
            ledger.record("registry-tag", image)  # before: a push cut short may have made the tag
            engine.push(image, log=log)
            pushed.append(image)
    missing = [image for image in ours if not in_registry(image)]
    if missing:
        raise WorkshopError(f"the registry on {ADDRESS} still lacks {missing[0]}; see {host.shown(log)}")
    return f"{len(ours)} image(s) in {ADDRESS}" + (f", pushed {len(pushed)}" if pushed else ", all already there")


def deck_builds() -> list[str]:
    """The deck's own `docker build` command lines, in slide order, each once."""
    found: list[str] = []
    for box in reader.read().boxes():
        if box.typed and box.typed.startswith("docker build") and box.typed not in found:
            found.append(box.typed)
    return found


def build_deck_images(note: Note = quiet) -> str:
    log = host.log_path("deck-images.log")
    builds = deck_builds()
    for command in builds:
        note(command)
        host.logged(["bash", "-c", command], log, timeout=1800, what=command.split(" && ")[0], cwd=ROOT)
    return f"ran the deck's {len(builds)} build commands"
