"""Make the base images the workshop names available under their exact tags.

Where the engine can pull, the real images are pulled. Local stand-ins, built from the files beside
this module and labelled edu.cs198.workshop=standin, are only for machines that reach no registry and
only when asked for: in CI (CI=true) or with `scripts/prepare --standins` (WORKSHOP_STANDINS=1).
Anywhere else a failed pull is one line with the fix, never a stand-in under an official tag that the
user's own later builds would use. An image already present is left alone (a user's own image under
an official tag is never replaced) unless it is a stand-in whose recipe has changed."""

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from provision.standins import debian_rootfs, host_python
from workshop import cli, ledger
from workshop.cli import Note, WorkshopError, quiet
from workshop.machine import app_images, host, processes, registry
from workshop.machine.engine import ENGINE as engine
from workshop.names import (
    DEBIAN_IMAGE as DEBIAN,
    KIND_NODE_BASE,
    LABEL,
    PYTHON_IMAGE as PYTHON,
    RECIPE_LABEL,
    REDIS_IMAGE as REDIS,
    STANDIN,
)
from workshop.paths import ROOT, state


def build_dir() -> Path:
    return state() / "build"


REGISTRY = registry.IMAGE
BASE_IMAGES = app_images.BASE_IMAGES  # in build order: the Python and Redis stand-ins are built on the Debian one
ALIASES = app_images.ALIASES  # where nothing can be pulled, these become extra tags of a stand-in

STANDINS = Path(__file__).resolve().parent
LOG = "base-images.log"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
# bump to rebuild every stand-in after changing how they are made
RECIPE_VERSION = "1"
# set to 1 to rebuild the stand-ins even when their recipe has not changed (the rootfs tar stays cached)
REBUILD_ENV = "WORKSHOP_REBUILD_STANDINS"
STANDINS_ENV = "WORKSHOP_STANDINS"
# after a pull is interrupted, how long the engine may take to finish one it had all the layers for
PULL_SETTLE_SECONDS = 5.0


def standins_allowed() -> bool:
    """Stand-ins only where asked for: CI, or scripts/prepare --standins."""
    return os.environ.get("CI") == "true" or os.environ.get(STANDINS_ENV) == "1"


def cannot_pull(ref: str, log: Path) -> WorkshopError:
    return WorkshopError(
        f"{ref} could not be pulled (see {host.shown(log)}): check the network or `docker login`, "
        f"then run scripts/prepare again; on a machine that reaches no registry at all, "
        f"scripts/prepare --standins builds labelled stand-ins instead"
    )


def recipe_hash(*parts) -> str:
    digest = hashlib.sha256()
    for part in (RECIPE_VERSION, *parts):
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------- which images are needed


def needed_images(root: Path = ROOT) -> list[str]:
    """What the lecture needs (app_images.needed_images), and where no registry answers the base the kind
    node image is built on."""
    needed = app_images.needed_images(root)
    if standins_allowed():  # no registry: the kind node image will be built here, on this base
        needed.append(KIND_NODE_BASE)
    return needed


# ---------------------------------------------------------------- building the stand-ins


def _ca_bundle() -> bytes:
    return HOST_CA.read_bytes() if HOST_CA.is_file() else b""


def _context(name: str) -> Path:
    folder = build_dir() / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "host-ca-bundle.crt").write_bytes(_ca_bundle())
    return folder


def _build(
    ref: str, context: Path, dockerfile: Path, recipe: str, log: Path, build_args: dict[str, str] | None = None
) -> None:
    shutil.copy(dockerfile, context / "Dockerfile")
    for extra in STANDINS.glob("*.sh"):
        shutil.copy(extra, context / extra.name)
    iid = ledger.before_build(ref, STANDIN)
    labels = {LABEL: STANDIN, RECIPE_LABEL: recipe}
    # whichever builder the engine's client uses by default: BuildKit on a current Docker, the legacy
    # builder on Debian's 20.10 (stand-ins are built with what the deck's boxes will use)
    for attempt in (1, 2):
        start = log.stat().st_size if log.exists() else 0
        try:
            engine.build(
                context,
                tag=ref,
                iidfile=iid,
                labels=labels,
                build_args=build_args,
                log=log,
                what=f"building the {ref} stand-in",
            )
            break
        except WorkshopError:
            with open(log, "rb") as handle:
                handle.seek(start)
                killed = b"returned a non-zero code: 137" in handle.read()
            # a build step killed from outside (SIGKILL) is worth one more try; anything else is not
            if attempt == 2 or not killed:
                raise
    shutil.rmtree(context, ignore_errors=True)


class Plan:
    """What one stand-in is made from: a recipe hash to compare, and a way to build it."""

    def __init__(self, recipe: str, build: Callable[[], str], detail: str):
        self.recipe, self.build, self.detail = recipe, build, detail


def debian_recipe(suite: str) -> str:
    return recipe_hash("debian", suite, *debian_rootfs.RECIPE_TEXTS)


def debian_plan(note: Note, log: Path, ref: str = DEBIAN, suite: str = debian_rootfs.SUITE) -> Plan:
    recipe = debian_recipe(suite)

    def build() -> str:
        tar = debian_rootfs.rootfs_tar(note, log, recipe, suite, ref)
        changes = [
            'CMD ["bash"]',
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            f'LABEL {LABEL}="{STANDIN}"',
            f'LABEL {RECIPE_LABEL}="{recipe}"',
        ]
        engine.import_rootfs(tar, ref, changes, log)
        return f"debootstrap minbase {suite}"

    return Plan(recipe, build, "debootstrap")


def python_plan(note: Note, log: Path, base_id: str) -> Plan:
    prefix = host_python.find()
    if prefix is None:

        def cannot_build() -> str:  # never a stand-in that says 3.12 and runs another Python
            raise WorkshopError(
                f"{PYTHON} cannot be pulled here, and its stand-in needs a CPython 3.12 build "
                f"on this machine: install one (`pyenv install 3.12`) or set "
                f"WORKSHOP_STANDIN_PYTHON to its prefix, then run scripts/prepare images again"
            )

        return Plan(recipe_hash("python-host", "none"), cannot_build, "no CPython 3.12 here")
    version = prefix.name
    dockerfile = STANDINS / "python-host.Dockerfile"
    recipe = recipe_hash("python-host", dockerfile.read_bytes(), prefix, version, base_id, _ca_bundle())

    def build_host() -> str:
        context = _context("python")
        note(f"copying CPython {version} from {prefix}")
        packages = host_python.stage(prefix, context / "python")
        with open(log, "a") as out:
            out.write(f"\nCPython {version} from {prefix} needs: {' '.join(packages)}\n")
        _build(
            PYTHON,
            context,
            dockerfile,
            recipe,
            log,
            {"RUNTIME_PACKAGES": " ".join(packages), "PYTHON_VERSION": version},
        )
        return f"host CPython {version}"

    return Plan(recipe, build_host, f"host CPython {version}")


def redis_plan(note: Note, log: Path, base_id: str) -> Plan:
    dockerfile = STANDINS / "redis.Dockerfile"
    entrypoint = STANDINS / "redis-entrypoint.sh"
    recipe = recipe_hash("redis", dockerfile.read_bytes(), entrypoint.read_bytes(), base_id, _ca_bundle())

    def build() -> str:
        _build(REDIS, _context("redis"), dockerfile, recipe, log)
        return "Debian trixie redis-server 8.0.2"

    return Plan(recipe, build, "Debian redis-server")


def registry_plan(note: Note, log: Path, base_id: str) -> Plan:
    dockerfile = STANDINS / "registry.Dockerfile"
    config = STANDINS / "registry-config.yml"
    recipe = recipe_hash("registry", dockerfile.read_bytes(), config.read_bytes(), base_id, _ca_bundle())

    def build() -> str:
        context = _context("registry")
        shutil.copy(config, context / config.name)
        _build(REGISTRY, context, dockerfile, recipe, log)
        return "Debian docker-registry 2.8"

    return Plan(recipe, build, "Debian docker-registry")


# ---------------------------------------------------------------- the step


def pulled(ref: str, label: str | None, log: Path, can_pull: dict[str, bool]) -> bool:
    """Pull the real image unless a stand-in is there or pulling already failed this run."""
    if label is not None or not can_pull.get("ok", True):
        return False
    with recorded_pull(ref) as outcome:
        outcome["pulled"] = can_pull["ok"] = engine.try_pull(ref, log)
    return can_pull["ok"]


@contextmanager
def recorded_pull(ref: str) -> Iterator[dict[str, bool]]:
    """A pull has no --iidfile, so the record is settled when the pull ends however it ends (done,
    failed, Ctrl-C), with further signals held: an image the tag names now and did not name before is
    the workshop's, by id. Killed outright, the pull leaves no id on record and claims nothing."""
    before = engine.image_id(ref)
    old = ledger.find("image", ref)
    ledger.record("image", ref, id=(old or {}).get("id"), role="pulled", pulling=True)
    outcome = {"pulled": False, "interrupted": False}
    try:
        yield outcome
    except BaseException:
        outcome["interrupted"] = True
        raise
    finally:
        with processes.deferred_signals():
            now = engine.image_id(ref)
            # Ctrl-C reaches the whole process group: it can stop the docker client while the engine still
            # finishes a pull it had the layers for, or stop the `docker image inspect` just above after the
            # pull succeeded. Either way ask again for a few seconds, so that such an image is on record too.
            deadline = time.monotonic() + PULL_SETTLE_SECONDS
            unsure = outcome["pulled"] or outcome["interrupted"]
            while unsure and now == before and time.monotonic() < deadline:
                time.sleep(0.25)
                now = engine.image_id(ref)
            if now and now != before:
                ledger.record("image", ref, id=now, role="pulled")
            elif old:
                ledger.record(**old)
            else:
                ledger.forget("image", ref)


def is_standin(ref: str) -> bool:
    return engine.image_label(ref, LABEL) == STANDIN


def drop_replaced(old_id: str | None, ref: str) -> None:
    """Remove the stand-in a rebuild replaced, once no tag names it; images built on it keep it alive."""
    if not old_id or old_id == engine.image_id(ref):
        return
    if engine.image_tag_count(old_id) == 0 and engine.image_label(old_id, LABEL) == STANDIN:
        engine.remove_image(old_id)


def _made(ref: str, role: str) -> None:
    ledger.record("image", ref, id=engine.image_id(ref), role=role)


def ensure_image(ref: str, note: Note, log: Path, can_pull: dict[str, bool]) -> str:
    """Make one image available; return a few words on how."""
    label = engine.image_label(ref, LABEL)
    if label is not None and label != STANDIN:
        return "present"
    if ref in ALIASES:
        return ensure_alias(ref, ALIASES[ref], label, log, can_pull)
    plan = None
    if ref in BASE_IMAGES or ref == KIND_NODE_BASE:
        base_id = engine.image_id(DEBIAN) or ""
        plan = {
            DEBIAN: lambda: debian_plan(note, log),
            PYTHON: lambda: python_plan(note, log, base_id),
            REDIS: lambda: redis_plan(note, log, base_id),
            REGISTRY: lambda: registry_plan(note, log, base_id),
            KIND_NODE_BASE: lambda: debian_plan(note, log, KIND_NODE_BASE, "bookworm"),
        }[ref]()
        fresh = engine.image_label(ref, RECIPE_LABEL) == plan.recipe
        if label == STANDIN and fresh and os.environ.get(REBUILD_ENV) != "1":
            return "stand-in present"
    if pulled(ref, label, log, can_pull):
        _made(ref, "pulled")  # it was not here before: the workshop brought it
        return "pulled"
    if label is None and not standins_allowed():
        raise cannot_pull(ref, log)
    if plan is None:
        raise WorkshopError(
            f"{ref} (named by a Dockerfile here) cannot be pulled and has no stand-in; "
            f"use one of {', '.join(BASE_IMAGES)} or add a stand-in in provision/standins/"
        )
    note(f"building the {ref} stand-in ({plan.detail}); log in {host.shown(log)}")
    old_id = engine.image_id(ref)
    how = plan.build()
    drop_replaced(old_id, ref)
    _made(ref, STANDIN)
    return f"stand-in built ({how})"


def ensure_alias(ref: str, target: str, label: str | None, log: Path, can_pull: dict[str, bool]) -> str:
    """Pull ref, or tag the stand-in of target with it (target is handled earlier in BASE_IMAGES order)."""
    target_id = engine.image_id(target)
    old_id = engine.image_id(ref)
    if label == STANDIN and old_id == target_id:
        return "stand-in present"
    if pulled(ref, label, log, can_pull):
        _made(ref, "pulled")
        return "pulled"
    if label is None and not standins_allowed():
        raise cannot_pull(ref, log)
    if not target_id or not is_standin(target):
        raise WorkshopError(f"{ref} cannot be pulled and {target}, whose stand-in it would share, is missing")
    engine.tag(target, ref)
    drop_replaced(old_id, ref)
    _made(ref, STANDIN)
    return f"stand-in tagged (same image as {target})"


def ensure_base_images(note: Note = quiet, images: Sequence[str] | None = None) -> str:
    """The prepare step: every needed image present under its exact tag; returns a one-line summary."""
    log = host.log_path(LOG)
    can_pull: dict[str, bool] = {}
    grouped: dict[str, list[str]] = {}
    for ref in images or needed_images():
        began = time.monotonic()
        how = ensure_image(ref, note, log, can_pull)
        if time.monotonic() - began > 2:
            note(f"{ref}: {how} in {time.monotonic() - began:.0f} s")
        grouped.setdefault(how.split(" (")[0], []).append(ref)
    return "; ".join(f"{how}: {', '.join(refs)}" for how, refs in grouped.items())


def warm_rootfs(note: Note = print) -> str:
    """The Debian root filesystems the stand-ins are made from, debootstrapped into the cache now; it needs
    no engine, so CI runs it beside other phases and the images step only imports them."""
    if not standins_allowed():
        return "not needed: stand-ins are made only where asked for (CI, or scripts/prepare --standins)"
    log = host.log_path(LOG)
    suites = {DEBIAN: debian_rootfs.SUITE, KIND_NODE_BASE: "bookworm"}
    for ref, suite in suites.items():
        debian_rootfs.rootfs_tar(note, log, debian_recipe(suite), suite, ref)
    return f"Debian root filesystems cached for {', '.join(suites)}"


def main(argv: Sequence[str]) -> int:
    """python -m provision.standins.base_images: the stand-ins' root filesystems, made ahead (CI)."""
    print(warm_rootfs())
    return 0


if __name__ == "__main__":
    cli.run(main, "base_images")
