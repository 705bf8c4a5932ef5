"""The browser packages from npm: the asciinema player (the export copies its bundle, one script and
one stylesheet, and its licence into the site) and xterm.js with its fit add-on (scripts/class serve
copies them the same way). web/package.json pins each exactly and web/package-lock.json locks them;
web/node_modules is git-ignored. When node_modules is missing or holds another version, `npm ci`
runs in web/ first (or one line says what to run)."""

import json
import shutil
from pathlib import Path

from workshop.cli import Note, WorkshopError, quiet
from workshop.machine import host
from workshop.paths import ROOT

WEB = ROOT / "web"
PACKAGE = "asciinema-player"
BUNDLE = ("asciinema-player.min.js", "asciinema-player.css")
# the class terminal's packages: package -> the files copied, from the package's folder
XTERM = {
    "@xterm/xterm": ("lib/xterm.js", "css/xterm.css"),
    "@xterm/addon-fit": ("lib/addon-fit.js",),
}
INSTALL = "cd web && npm ci"


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def pinned(web: Path = WEB, package: str = PACKAGE) -> str:
    """The version web/package.json pins."""
    version = _json(web / "package.json").get("dependencies", {}).get(package)
    if not version:
        raise WorkshopError(f"{host.shown(web / 'package.json')} does not pin {package}: restore it from git")
    return version


def installed(web: Path = WEB, package: str = PACKAGE) -> str:
    """The version in web/node_modules, or '' when there is none."""
    return _json(web / "node_modules" / package / "package.json").get("version", "")


def bundle_dir(web: Path = WEB) -> Path:
    return web / "node_modules" / PACKAGE / "dist" / "bundle"


def _current(web: Path) -> bool:
    """Is every pinned package installed, at its pin, with the files the workshop copies?"""
    files = [bundle_dir(web) / name for name in BUNDLE]
    files += [web / "node_modules" / package / name for package, names in XTERM.items() for name in names]
    return all(installed(web, p) == pinned(web, p) for p in (PACKAGE, *XTERM)) and all(f.is_file() for f in files)


def ensure(web: Path = WEB, note: Note = quiet) -> Path:
    """The folder of the pinned player's bundle, running `npm ci` first when a pinned package is not there."""
    want = pinned(web)
    if _current(web):
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
    if not _current(web):
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


def copy_xterm(assets: Path, web: Path = WEB, note: Note = quiet) -> list[str]:
    """Copy xterm.js, its stylesheet and its fit add-on, with their licences, into assets/."""
    ensure(web, note)
    names = []
    for package, files in XTERM.items():
        for name in files:
            shutil.copyfile(web / "node_modules" / package / name, assets / Path(name).name)
            names.append(Path(name).name)
        licence = web / "node_modules" / package / "LICENSE"
        if licence.is_file():
            names.append(f"{package.rpartition('/')[2]}.LICENSE.txt")
            shutil.copyfile(licence, assets / names[-1])
    return names
