"""Make the base images the workshop names available under their exact tags.

Where the engine can pull, the real images are pulled. Where it cannot (no registry reachable,
as in CI), local stand-ins are built from workshop/standins/ and labelled edu.cs198.workshop=standin.
An image already present is left alone unless it is a stand-in whose recipe has changed."""
import glob
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from . import apt_sources, docker_engine, hostcmd
from .cli import WorkshopError
from .paths import ROOT, STATE

DEBIAN = "debian:bookworm-slim"
PYTHON = "python:3.12-slim"
REDIS = "redis:7.0.15-bookworm"
# in build order: the Python and Redis stand-ins are built on the Debian one
BASE_IMAGES = (DEBIAN, PYTHON, REDIS)
# other names of the same images: where nothing can be pulled they become extra tags of a stand-in
ALIASES = {"python:3.12-slim-bookworm": PYTHON}

LABEL = "edu.cs198.workshop"
RECIPE_LABEL = "edu.cs198.workshop.recipe"
STANDINS = Path(__file__).resolve().parent / "standins"
CACHE = STATE / "cache"
BUILD = STATE / "build"
LOG = "base-images.log"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
# bump to rebuild every stand-in after changing how they are made
RECIPE_VERSION = "1"

Note = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def recipe_hash(*parts) -> str:
    digest = hashlib.sha256()
    for part in (RECIPE_VERSION, *parts):
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------- which images are needed

_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_SKIP_DIRS = {".git", ".venv", ".workshop", "node_modules", "__pycache__", "standins"}


def dockerfile_bases(text: str) -> List[str]:
    """The external images a Dockerfile builds FROM (not scratch, earlier stages or ${ARG} refs)."""
    stages, bases = set(), []
    for line in text.splitlines():
        match = _FROM.match(line)
        if not match:
            continue
        image, stage = match.group(1), match.group(2)
        if image.lower() != "scratch" and image.lower() not in stages and "$" not in image and image not in bases:
            bases.append(image)
        if stage:
            stages.add(stage.lower())
    return bases


def repository_dockerfiles(root: Path = ROOT) -> List[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile"):
                found.append(Path(folder) / name)
    return found


def needed_images(root: Path = ROOT) -> List[str]:
    """The three the workshop always uses, then any other base a Dockerfile of the repository names."""
    needed = list(BASE_IMAGES)
    for path in repository_dockerfiles(root):
        for image in dockerfile_bases(path.read_text(errors="replace")):
            if image not in needed:
                needed.append(image)
    return needed


# ---------------------------------------------------------------- apt mirror and debootstrap

ROOTFS_SOURCES = """Types: deb
URIs: {mirror}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
ROOTFS_SECURITY = """
Types: deb
URIs: {mirror}
Suites: bookworm-security
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


def trim_rootfs(tree: Path, mirror: str, security: Optional[str]) -> None:
    """Make a debootstrapped tree look like the official slim image's filesystem."""
    sources = ROOTFS_SOURCES.format(mirror=mirror)
    if security:
        sources += ROOTFS_SECURITY.format(mirror=security)
    (tree / "etc/apt/sources.list").unlink(missing_ok=True)
    (tree / "etc/apt/sources.list.d").mkdir(parents=True, exist_ok=True)
    (tree / "etc/apt/sources.list.d/debian.sources").write_text(sources)
    (tree / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (tree / "etc/dpkg/dpkg.cfg.d/docker").write_text(ROOTFS_DPKG_EXCLUDES)
    (tree / "etc/apt/apt.conf.d/docker-clean").write_text(ROOTFS_APT_CLEAN)
    (tree / "etc/apt/apt.conf.d/docker-no-recommends").write_text(ROOTFS_NO_RECOMMENDS)
    _empty(tree / "usr/share/doc", keep=lambda p: p.name == "copyright" or p.is_dir())
    for folder in ("usr/share/man", "usr/share/groff", "usr/share/info", "usr/share/locale",
                   "usr/share/lintian", "var/lib/apt/lists", "var/cache/apt", "var/log", "tmp"):
        _empty(tree / folder, keep=lambda p: p.name in ("partial", "auxfiles"))
    # the engine supplies these per container
    for name in ("etc/hostname", "etc/resolv.conf"):
        (tree / name).unlink(missing_ok=True)
    (tree / "etc/hostname").write_text("")


def rootfs_tar(note: Note, log: Path, recipe: str) -> Path:
    """A cached tar of a trimmed minbase bookworm tree, made with debootstrap on the first run."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tar = CACHE / f"debian-bookworm-minbase-{recipe}.tar"
    if tar.is_file():
        return tar
    if not hostcmd.is_linux_root():
        raise WorkshopError(f"{DEBIAN} cannot be pulled and a stand-in needs debootstrap as root on Debian; "
                            f"run scripts/prepare as root, or on a machine that can reach Docker Hub")
    mirror = apt_sources.debian_mirror("bookworm")
    security = apt_sources.security_mirror("bookworm")
    debootstrap = hostcmd.ensure_program("debootstrap", "debootstrap", log)
    tree = CACHE / "debian-bookworm-minbase.tree"
    if tree.exists():
        shutil.rmtree(tree)
    note(f"debootstrap --variant=minbase bookworm from {mirror} (about a minute, once)")
    hostcmd.logged([debootstrap, "--variant=minbase", "bookworm", str(tree), mirror], log, timeout=1200,
                   what="debootstrap", stdin=subprocess.DEVNULL)
    trim_rootfs(tree, mirror, security)
    partial = tar.with_suffix(".partial")
    hostcmd.logged(["tar", "--numeric-owner", "-C", str(tree), "-cf", str(partial), "."], log, what="tar")
    partial.rename(tar)
    shutil.rmtree(tree)
    for old in CACHE.glob("debian-bookworm-minbase-*.tar"):
        if old != tar:
            old.unlink()
    return tar


# ---------------------------------------------------------------- the host's CPython 3.12

PYENV_GLOBS = ("{pyenv}/versions/3.12.*",)


def _version_key(path: Path) -> Tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.name))


def host_python312() -> Optional[Path]:
    """The prefix of a CPython 3.12 the host built (pyenv), newest first; WORKSHOP_STANDIN_PYTHON overrides."""
    override = os.environ.get("WORKSHOP_STANDIN_PYTHON")
    candidates = [Path(override)] if override else []
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for root in dict.fromkeys([pyenv, "/root/.pyenv"]):
        found = [Path(p) for p in glob.glob(f"{root}/versions/3.12.*") if re.fullmatch(r"3\.12\.\d+", Path(p).name)]
        candidates += sorted(found, key=_version_key, reverse=True)
    for prefix in candidates:
        exe = prefix / "bin" / "python3.12"
        if exe.is_file() and os.access(exe, os.X_OK) and (prefix / "lib" / "python3.12" / "ensurepip").is_dir():
            return prefix
    return None


def _copy_ignore(prefix: Path):
    stdlib = prefix / "lib" / "python3.12"

    def ignore(folder: str, names: List[str]) -> List[str]:
        here = Path(folder)
        skip = []
        for name in names:
            if here == stdlib and name in ("test", "site-packages"):
                skip.append(name)
            elif here == prefix / "bin" and (name.startswith("pip") or name.startswith("idle")):
                skip.append(name)
            elif here == prefix and name == "share":
                skip.append(name)
            elif name.endswith(".a") or name in ("idle_test",):
                skip.append(name)
            elif name.startswith("_sysconfigdata") and name.endswith(".pyc"):
                skip.append(name)
        return skip

    return ignore


def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def rewrite_prefix(tree: Path, old: str, new: str = "/usr/local") -> int:
    """Replace the build prefix in the tree's text files (shebangs, sysconfig data, -config scripts)."""
    changed = 0
    old_bytes, new_bytes = old.encode(), new.encode()
    for path in tree.rglob("*"):
        if path.is_symlink() or not path.is_file() or path.suffix == ".pyc" or _is_elf(path):
            continue
        data = path.read_bytes()
        if old_bytes in data and b"\0" not in data:
            path.write_bytes(data.replace(old_bytes, new_bytes))
            changed += 1
    return changed


def linked_libraries(tree: Path) -> List[str]:
    """Host libraries the tree's ELF files need (ldd), leaving out tkinter's, as the official image does."""
    libraries = set()
    for path in tree.rglob("*"):
        if path.is_symlink() or not path.is_file() or "tkinter" in path.name or not _is_elf(path):
            continue
        done = hostcmd.capture(["ldd", str(path)], check=False, timeout=30)
        for line in done.stdout.splitlines():
            match = re.search(r"=>\s+(/\S+)", line)
            if match and "libpython" not in match.group(1):
                libraries.add(match.group(1))
    return sorted(libraries)


def debian_packages(libraries: Sequence[str]) -> List[str]:
    """The Debian packages that own the libraries (dpkg -S), trying the /lib and /usr/lib spellings."""
    packages = set()
    for library in libraries:
        spellings = [library, os.path.realpath(library)]
        for spelling in list(spellings):
            if spelling.startswith("/usr/lib/"):
                spellings.append(spelling[4:])
            elif spelling.startswith("/lib/"):
                spellings.append("/usr" + spelling)
        for spelling in dict.fromkeys(spellings):
            done = hostcmd.capture(["dpkg", "-S", spelling], check=False, timeout=30)
            if done.returncode == 0 and ":" in done.stdout:
                packages.add(done.stdout.split(":", 1)[0].split(",")[0].strip())
                break
        else:
            raise WorkshopError(f"no Debian package provides {library}, which the host's Python 3.12 needs")
    return sorted(packages)


# ---------------------------------------------------------------- building the stand-ins

def _ca_bundle() -> bytes:
    return HOST_CA.read_bytes() if HOST_CA.is_file() else b""


def _context(name: str) -> Path:
    folder = BUILD / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "host-ca-bundle.crt").write_bytes(_ca_bundle())
    return folder


def _build(ref: str, context: Path, dockerfile: Path, recipe: str, log: Path,
           build_args: Optional[Dict[str, str]] = None) -> None:
    shutil.copy(dockerfile, context / "Dockerfile")
    for extra in STANDINS.glob("*.sh"):
        shutil.copy(extra, context / extra.name)
    cmd = ["docker", "build", "-t", ref, "--label", f"{LABEL}=standin", "--label", f"{RECIPE_LABEL}={recipe}"]
    for key, value in (build_args or {}).items():
        cmd += ["--build-arg", f"{key}={value}"]
    env = dict(os.environ, DOCKER_BUILDKIT="0")  # the legacy builder: the Debian engine has no buildx
    hostcmd.logged(cmd + [str(context)], log, timeout=1800, what=f"building the {ref} stand-in",
                   env=env, stdin=subprocess.DEVNULL)
    shutil.rmtree(context, ignore_errors=True)


class Plan:
    """What one stand-in is made from: a recipe hash to compare, and a way to build it."""

    def __init__(self, recipe: str, build: Callable[[], str], detail: str):
        self.recipe, self.build, self.detail = recipe, build, detail


def debian_plan(note: Note, log: Path) -> Plan:
    recipe = recipe_hash("debian", ROOTFS_SOURCES, ROOTFS_SECURITY, ROOTFS_DPKG_EXCLUDES, ROOTFS_APT_CLEAN,
                         ROOTFS_NO_RECOMMENDS)

    def build() -> str:
        tar = rootfs_tar(note, log, recipe)
        changes = ['CMD ["bash"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   f'LABEL {LABEL}="standin"', f'LABEL {RECIPE_LABEL}="{recipe}"']
        cmd = ["docker", "import"]
        for change in changes:
            cmd += ["--change", change]
        with open(tar, "rb") as handle:
            hostcmd.logged(cmd + ["-", DEBIAN], log, timeout=600, what=f"docker import {DEBIAN}", stdin=handle)
        return "debootstrap minbase, imported"

    return Plan(recipe, build, "debootstrap")


def python_plan(note: Note, log: Path, base_id: str) -> Plan:
    prefix = host_python312()
    if prefix is None:
        dockerfile = STANDINS / "python-debian.Dockerfile"
        recipe = recipe_hash("python-debian", dockerfile.read_bytes(), base_id, _ca_bundle())

        def build_debian() -> str:
            note("no CPython 3.12 build on this host: the python:3.12-slim stand-in gets Debian's "
                 "python3 (3.11) instead")
            _build(PYTHON, _context("python"), dockerfile, recipe, log)
            return "Debian python3 3.11 (no host CPython 3.12 found)"

        return Plan(recipe, build_debian, "debian python3")

    version = prefix.name
    dockerfile = STANDINS / "python-host.Dockerfile"
    recipe = recipe_hash("python-host", dockerfile.read_bytes(), prefix, version, base_id, _ca_bundle())

    def build_host() -> str:
        context = _context("python")
        tree = context / "python"
        note(f"copying CPython {version} from {prefix}")
        shutil.copytree(prefix, tree, symlinks=True, ignore=_copy_ignore(prefix))
        (tree / "lib" / "python3.12" / "site-packages").mkdir(exist_ok=True)
        rewrite_prefix(tree, str(prefix))
        packages = debian_packages(linked_libraries(tree))
        with open(log, "a") as out:
            out.write(f"\nCPython {version} from {prefix} needs: {' '.join(packages)}\n")
        _build(PYTHON, context, dockerfile, recipe, log,
               {"RUNTIME_PACKAGES": " ".join(packages), "PYTHON_VERSION": version})
        return f"CPython {version}"

    return Plan(recipe, build_host, f"CPython {version}")


def redis_plan(note: Note, log: Path, base_id: str) -> Plan:
    dockerfile = STANDINS / "redis.Dockerfile"
    entrypoint = STANDINS / "redis-entrypoint.sh"
    recipe = recipe_hash("redis", dockerfile.read_bytes(), entrypoint.read_bytes(), base_id, _ca_bundle())

    def build() -> str:
        _build(REDIS, _context("redis"), dockerfile, recipe, log)
        return "Debian redis-server 7.0.15"

    return Plan(recipe, build, "debian redis-server")


# ---------------------------------------------------------------- the step

def pull(ref: str, log: Path) -> bool:
    """Try the real image; False when the engine cannot reach its registry."""
    try:
        hostcmd.logged(["docker", "pull", ref], log, timeout=900, what=f"docker pull {ref}",
                       stdin=subprocess.DEVNULL)
        return True
    except WorkshopError:
        return False


def is_standin(ref: str) -> bool:
    return docker_engine.image_label(ref, LABEL) == "standin"


def ensure_image(ref: str, note: Note, log: Path, can_pull: Dict[str, bool]) -> str:
    """Make one image available; return a few words on how."""
    label = docker_engine.image_label(ref, LABEL)
    if label is not None and label != "standin":
        return "present"
    if ref in ALIASES:
        return ensure_alias(ref, ALIASES[ref], label, log, can_pull)
    plan = None
    if ref in BASE_IMAGES:
        base_id = docker_engine.image_id(DEBIAN) or ""
        plan = {DEBIAN: lambda: debian_plan(note, log),
                PYTHON: lambda: python_plan(note, log, base_id),
                REDIS: lambda: redis_plan(note, log, base_id)}[ref]()
        if label == "standin" and docker_engine.image_label(ref, RECIPE_LABEL) == plan.recipe:
            return "stand-in present"
    if label is None and can_pull.get("ok", True):
        if pull(ref, log):
            can_pull["ok"] = True
            return "pulled"
        can_pull["ok"] = False
    if plan is None:
        raise WorkshopError(f"{ref} (named by a Dockerfile here) cannot be pulled and has no stand-in; "
                            f"use one of {', '.join(BASE_IMAGES)} or add a stand-in in workshop/standins/")
    note(f"building the {ref} stand-in ({plan.detail}); log in {hostcmd.shown(log)}")
    return "stand-in built: " + plan.build()


def ensure_alias(ref: str, target: str, label: Optional[str], log: Path, can_pull: Dict[str, bool]) -> str:
    """Pull ref, or tag the stand-in of target with it (target is handled earlier in BASE_IMAGES order)."""
    target_id = docker_engine.image_id(target)
    if label == "standin" and docker_engine.image_id(ref) == target_id:
        return f"stand-in present (= {target})"
    if label is None and can_pull.get("ok", True):
        if pull(ref, log):
            can_pull["ok"] = True
            return "pulled"
        can_pull["ok"] = False
    if not target_id or not is_standin(target):
        raise WorkshopError(f"{ref} cannot be pulled and {target}, whose stand-in it would share, is missing")
    docker_engine.docker("tag", target, ref)
    return f"tagged as {target} stand-in"


def ensure_base_images(note: Note = _quiet, images: Optional[Sequence[str]] = None) -> str:
    """The prepare step: every needed image present under its exact tag; returns a one-line summary."""
    log = hostcmd.log_path(LOG)
    can_pull: Dict[str, bool] = {}
    done = []
    for ref in images or needed_images():
        how = ensure_image(ref, note, log, can_pull)
        done.append(f"{ref} {how}")
    return "; ".join(done)


def standin_sizes(images: Sequence[str] = BASE_IMAGES) -> Dict[str, str]:
    sizes = {}
    for ref in images:
        out = docker_engine.docker("image", "inspect", "--format", "{{.Size}}", ref, check=False).stdout.strip()
        if out.isdigit():
            sizes[ref] = f"{int(out) / 1e6:.0f} MB"
    return sizes
