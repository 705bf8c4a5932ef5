"""The images the Kubernetes manifests name, made available in the local registry
(localhost:5001) so pods can pull them: okpy-mini built from k8s_demo/, the rest mirrored
from the base images prepare already made."""
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, List

from . import hostcmd
from .cli import WorkshopError
from .docker_engine import docker, image_exists
from .local_registry import ADDRESS, HOST, PORT
from .paths import ROOT

K8S_DEMO = ROOT / "k8s_demo"
APP = f"{ADDRESS}/okpy-mini"
IMAGE_LINE = re.compile(r"^\s*image:\s*(\S+)", re.MULTILINE)
LOG = "app-images.log"


def manifest_images(folder: Path = K8S_DEMO) -> List[str]:
    """Every image a manifest in folder names, in order, once."""
    found: List[str] = []
    for manifest in sorted(folder.glob("*.yaml")):
        for image in IMAGE_LINE.findall(manifest.read_text()):
            if image not in found:
                found.append(image)
    return found


def in_registry(image: str) -> bool:
    """Does the local registry hold this image (localhost:5001/NAME:TAG)?"""
    name, _, tag = image[len(ADDRESS) + 1:].rpartition(":")
    request = urllib.request.Request(f"http://{HOST}:{PORT}/v2/{name}/manifests/{tag}", method="HEAD", headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def make_image(image: str, log: Path) -> None:
    """Build okpy-mini at this tag, or tag the base image of the same name, locally."""
    if image.startswith(APP + ":"):
        version = image.rpartition(":")[2]
        hostcmd.logged(["docker", "build", "--build-arg", f"APP_VERSION={version}", "-t", image, str(K8S_DEMO)],
                       log, what=f"building {image}")
        return
    source = image[len(ADDRESS) + 1:]
    if not image_exists(source):
        raise WorkshopError(f"{image} mirrors {source}, which is not on this machine: run scripts/prepare images")
    docker("tag", source, image)


def ensure_app_images(note: Callable[[str], None] = lambda _: None) -> str:
    """Make every manifest's localhost:5001 image present locally and in the registry."""
    log = hostcmd.log_path(LOG)
    ours = [image for image in manifest_images() if image.startswith(ADDRESS + "/")]
    pushed = []
    for image in ours:
        built_here = image.startswith(APP + ":")      # rebuilt every time (cached: a second), so never stale
        if built_here or not image_exists(image):
            note(f"making {image}")
            make_image(image, log)
        if built_here or not in_registry(image):
            note(f"pushing {image}")
            hostcmd.logged(["docker", "push", image], log, what=f"pushing {image}")
            pushed.append(image)
    missing = [image for image in ours if not in_registry(image)]
    if missing:
        raise WorkshopError(f"the registry on {ADDRESS} still lacks {missing[0]}; see {hostcmd.shown(log)}")
    return f"{len(ours)} image(s) in {ADDRESS}" + (f", pushed {len(pushed)}" if pushed else ", all already there")
