"""The host's own CPython 3.12 build (pyenv, compiled on Debian 12), prepared for copying into
the python:3.12-slim-trixie stand-in: which one, which files, prefix rewritten, which Debian libraries."""

import glob
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.machine import host


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.name))


def find() -> Path | None:
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


def copy_ignore(prefix: Path):
    stdlib = prefix / "lib" / "python3.12"

    def ignore(folder: str, names: list[str]) -> list[str]:
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


def linked_libraries(tree: Path) -> list[str]:
    """Host libraries the tree's ELF files need (ldd), leaving out tkinter's, as the official image does."""
    libraries = set()
    for path in tree.rglob("*"):
        if path.is_symlink() or not path.is_file() or "tkinter" in path.name or not _is_elf(path):
            continue
        done = host.run(["ldd", str(path)], check=False, timeout=30)
        for line in done.stdout.splitlines():
            match = re.search(r"=>\s+(/\S+)", line)
            if match and "libpython" not in match.group(1):
                libraries.add(match.group(1))
    return sorted(libraries)


def debian_packages(libraries: Sequence[str]) -> list[str]:
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
            done = host.run(["dpkg", "-S", spelling], check=False, timeout=30)
            if done.returncode == 0 and ":" in done.stdout:
                packages.add(done.stdout.split(":", 1)[0].split(",")[0].strip())
                break
        else:
            raise WorkshopError(f"no Debian package provides {library}, which the host's Python 3.12 needs")
    return sorted(packages)


def stage(prefix: Path, tree: Path) -> list[str]:
    """Copy the build at prefix to tree as it will sit in /usr/local; return the Debian packages it needs."""
    shutil.copytree(prefix, tree, symlinks=True, ignore=copy_ignore(prefix))
    (tree / "lib" / "python3.12" / "site-packages").mkdir(exist_ok=True)
    rewrite_prefix(tree, str(prefix))
    return debian_packages(linked_libraries(tree))
