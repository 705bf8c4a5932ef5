"""The class terminal image (`scripts/prepare class-terminal`): this folder's Dockerfile, built on the
lecture's Python base image with kubectl taken from the kind node image the cluster runs, then pushed
to the local registry the way the lecture's own images are, so every node can pull it. Its name and tag
come from workshop/cluster/class_terminal.py (a hash of the recipe and k8s_demo/)."""

import tempfile
from pathlib import Path

from workshop import ledger
from workshop.cli import Note, WorkshopError, quiet
from workshop.cluster import class_terminal, kind
from workshop.machine import host, registry
from workshop.machine.app_images import in_registry
from workshop.machine.engine import ENGINE as engine
from workshop.names import PYTHON_IMAGE

LOG = "class-terminal.log"


def context(folder: Path, files: dict[str, bytes]) -> None:
    """The build context: the recipe's files and the lecture's k8s_demo/, nothing else of the checkout."""
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def ensure(note: Note = quiet) -> str:
    """Build and push the terminal image unless the registry already holds this recipe's tag."""
    files = class_terminal.recipe_files()
    image = class_terminal.image(files)
    if not registry.status():
        raise WorkshopError("the local registry does not answer: run scripts/prepare registry first")
    if engine.image_exists(image) and in_registry(image):
        return f"{image} is in the registry already"
    node = kind.node_image(note)
    log = host.log_path(LOG)
    note(f"building {image} (kubectl from {node}); log in {host.shown(log)}")
    with tempfile.TemporaryDirectory(prefix="workshop-terminal-") as folder:
        context(Path(folder), files)
        iid = ledger.before_build(image, "class-terminal")
        engine.build(
            Path(folder),
            tag=image,
            iidfile=iid,
            build_args={"NODE_IMAGE": node, "PYTHON_IMAGE": PYTHON_IMAGE},
            log=log,
            what=f"building {image}",
        )
    ledger.record("image", image, id=engine.image_id(image), role="class-terminal")
    ledger.record("registry-tag", image)
    engine.push(image, log=log)
    return f"{image} built and pushed"
