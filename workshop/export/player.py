"""The asciinema player, from npm: web/package.json pins it (exactly) and web/package-lock.json
locks it; web/node_modules is git-ignored. The export copies its bundle (one script, one
stylesheet) and its licence into the site. When node_modules is missing or holds another
version, the export runs `npm ci` in web/ first (or says in one line what to run)."""

import json
import shutil
from pathlib import Path

from workshop.cli import Note, WorkshopError, quiet
from workshop.machine import host
from workshop.paths import ROOT

WEB = ROOT / "web"
PACKAGE = "asciinema-player"
BUNDLE = ("asciinema-player.min.js", "asciinema-player.css")
INSTALL = "cd web && npm ci"


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def pinned(web: Path = WEB) -> str:
    """The version web/package.json pins."""
    version = _json(web / "package.json").get("dependencies", {}).get(PACKAGE)
    if not version:
        raise WorkshopError(f"{host.shown(web / 'package.json')} does not pin {PACKAGE}: restore it from git")
    return version


def installed(web: Path = WEB) -> str:
    """The version in web/node_modules, or '' when there is none."""
    return _json(web / "node_modules" / PACKAGE / "package.json").get("version", "")


def bundle_dir(web: Path = WEB) -> Path:
    return web / "node_modules" / PACKAGE / "dist" / "bundle"


def ensure(web: Path = WEB, note: Note = quiet) -> Path:
    """The folder of the pinned player's bundle, running `npm ci` first when it is not there."""
    want = pinned(web)
    missing = [name for name in BUNDLE if not (bundle_dir(web) / name).is_file()]
    if installed(web) == want and not missing:
        return bundle_dir(web)
    if not host.which("npm"):
        raise WorkshopError(
            f"the asciinema player {want} is not installed and npm is missing: "
            f"{host.install_hint('npm', 'node')}, then run `{INSTALL}`"
        )
    note(f"installing {PACKAGE} {want} (npm ci in {host.shown(web)})...")
    host.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=web,
        timeout=600,
        what=f"npm ci (in {host.shown(web)})",
        fix=f"check the network or the npm registry setting, then run `{INSTALL}`",
    )
    if installed(web) != want:
        raise WorkshopError(
            f"npm ci did not install {PACKAGE} {want} (found {installed(web) or 'none'}): "
            f"run `{INSTALL}` and look at what it says"
        )
    return bundle_dir(web)


def copy(assets: Path, web: Path = WEB, note: Note = quiet) -> list[str]:
    """Copy the player's bundle and licence into assets/; the names of the files copied."""
    source = ensure(web, note)
    names = []
    for name in BUNDLE:
        shutil.copyfile(source / name, assets / name)
        names.append(name)
    licence = web / "node_modules" / PACKAGE / "LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, assets / f"{PACKAGE}.LICENSE.txt")
        names.append(f"{PACKAGE}.LICENSE.txt")
    return names
