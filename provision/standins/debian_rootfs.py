"""A Debian trixie (13) root filesystem for the debian:trixie-slim stand-in: debootstrap minbase
from the Debian archive the host's apt uses (it serves every release), trimmed like the official
slim image, cached as a tar."""

import fcntl
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from provision import apt_sources
from workshop.cli import Note, WorkshopError
from workshop.machine import host
from workshop.names import DEBIAN_IMAGE
from workshop.paths import state


def cache_dir() -> Path:
    return state() / "cache"


# the release names.DEBIAN_IMAGE names (the kind node image built here stays on bookworm: KIND_NODE_BASE)
SUITE = "trixie"


ROOTFS_SOURCES = """Types: deb
URIs: {mirror}
Suites: {suite} {suite}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
ROOTFS_SECURITY = """
Types: deb
URIs: {mirror}
Suites: {suite}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
# as in the official slim images: no docs, man pages or translations, and no apt caches
ROOTFS_DPKG_EXCLUDES = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
"""
ROOTFS_APT_CLEAN = """DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
"""
ROOTFS_NO_RECOMMENDS = 'APT::Install-Recommends "false";\n'


# what the stand-in's recipe hash covers
RECIPE_TEXTS = (ROOTFS_SOURCES, ROOTFS_SECURITY, ROOTFS_DPKG_EXCLUDES, ROOTFS_APT_CLEAN, ROOTFS_NO_RECOMMENDS)


def _empty(folder: Path, keep: Callable[[Path], bool] = lambda p: False) -> None:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*"), reverse=True):
        if keep(path):
            continue
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        else:
            path.unlink()


def trim_rootfs(tree: Path, mirror: str, security: str | None, suite: str = SUITE) -> None:
    """Make a debootstrapped tree look like the official slim image's filesystem."""
    sources = ROOTFS_SOURCES.format(mirror=mirror, suite=suite)
    if security:
        sources += ROOTFS_SECURITY.format(mirror=security, suite=suite)
    (tree / "etc/apt/sources.list").unlink(missing_ok=True)
    (tree / "etc/apt/sources.list.d").mkdir(parents=True, exist_ok=True)
    (tree / "etc/apt/sources.list.d/debian.sources").write_text(sources)
    (tree / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (tree / "etc/dpkg/dpkg.cfg.d/docker").write_text(ROOTFS_DPKG_EXCLUDES)
    (tree / "etc/apt/apt.conf.d/docker-clean").write_text(ROOTFS_APT_CLEAN)
    (tree / "etc/apt/apt.conf.d/docker-no-recommends").write_text(ROOTFS_NO_RECOMMENDS)
    _empty(tree / "usr/share/doc", keep=lambda p: p.name == "copyright" or p.is_dir())
    for folder in (
        "usr/share/man",
        "usr/share/groff",
        "usr/share/info",
        "usr/share/locale",
        "usr/share/lintian",
        "var/lib/apt/lists",
        "var/cache/apt",
        "var/log",
        "tmp",
    ):
        _empty(tree / folder, keep=lambda p: p.name in ("partial", "auxfiles"))
    # the engine supplies these per container
    for name in ("etc/hostname", "etc/resolv.conf"):
        (tree / name).unlink(missing_ok=True)
    (tree / "etc/hostname").write_text("")


def rootfs_tar(note: Note, log: Path, recipe: str, suite: str = SUITE, image: str = DEBIAN_IMAGE) -> Path:
    """A cached tar of a trimmed minbase tree of suite, made with debootstrap on the first run. A second
    caller (CI makes the tars early, beside other work) waits for a debootstrap under way, then uses its tar."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / f"debian-{suite}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _rootfs_tar(note, log, recipe, suite, image)


def _rootfs_tar(note: Note, log: Path, recipe: str, suite: str, image: str) -> Path:
    tar = cache_dir() / f"debian-{suite}-minbase-{recipe}.tar"
    if tar.is_file():
        return tar
    if not host.is_linux_root():
        raise WorkshopError(
            f"{image} cannot be pulled and its stand-in needs debootstrap as root "
            f"on Debian; run scripts/prepare as root, or on a machine that can reach Docker Hub"
        )
    mirror, security = apt_sources.debian_archive()
    debootstrap = host.ensure_program("debootstrap", "debootstrap", log)
    tree = cache_dir() / f"debian-{suite}-minbase.tree"
    if tree.exists():
        shutil.rmtree(tree)
    note(f"debootstrap --variant=minbase {suite} from {mirror} (about a minute, once)")
    began = time.monotonic()
    host.logged([debootstrap, "--variant=minbase", suite, str(tree), mirror], log, timeout=1200, what="debootstrap")
    note(f"debootstrap done in {time.monotonic() - began:.0f} s")
    trim_rootfs(tree, mirror, security, suite)
    partial = tar.with_suffix(".partial")
    host.logged(["tar", "--numeric-owner", "-C", str(tree), "-cf", str(partial), "."], log, what="tar")
    partial.rename(tar)
    shutil.rmtree(tree)
    for old in cache_dir().glob(f"debian-{suite}-minbase-*.tar"):
        if old != tar:
            old.unlink()
    return tar
