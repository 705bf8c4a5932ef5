"""Which Debian mirror the host's apt already uses, read from its sources (both formats),
so debootstrap fetches from the same place apt does."""

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from workshop.cli import WorkshopError

APT_DIR = Path("/etc/apt")


class Source(NamedTuple):
    uri: str
    suites: list[str]
    components: list[str]


def parse_deb822(text: str) -> list[Source]:
    """Entries of a deb822 .sources file: paragraphs of 'Field: value' with indented continuations."""
    paragraphs: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    last = None
    for raw in text.splitlines() + [""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if fields:
                paragraphs.append(fields)
            fields, last = {}, None
            continue
        if raw[0] in " \t" and last:
            fields[last] += " " + raw.strip()
            continue
        key, sep, value = raw.partition(":")
        if not sep:
            continue
        last = key.strip().lower()
        fields[last] = value.strip()
    sources = []
    for fields in paragraphs:
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").strip().lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            sources.append(Source(uri, fields.get("suites", "").split(), fields.get("components", "").split()))
    return sources


def parse_one_line(text: str) -> list[Source]:
    """Entries of a classic sources.list: 'deb [options] URI suite components...'."""
    sources = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line.split()[1:]
        if words and words[0].startswith("["):
            # options may contain spaces: skip up to the word that closes the bracket
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = words[1:]
        if len(words) >= 2:
            sources.append(Source(words[0], [words[1]], words[2:]))
    return sources


def host_sources(apt_dir: Path = APT_DIR) -> list[Source]:
    """Every enabled 'deb' entry apt reads: sources.list, then sources.list.d/*.list and *.sources."""
    found: list[Source] = []
    main = apt_dir / "sources.list"
    if main.is_file():
        found += parse_one_line(main.read_text(errors="replace"))
    folder = apt_dir / "sources.list.d"
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix == ".list":
                found += parse_one_line(path.read_text(errors="replace"))
            elif path.suffix == ".sources":
                found += parse_deb822(path.read_text(errors="replace"))
    return found


def _mirror_for(sources: Iterable[Source], suite: str) -> str | None:
    for source in sources:
        if suite in source.suites and source.uri.startswith(("http://", "https://", "file:/")):
            return source.uri.rstrip("/")
    return None


def debian_mirror(suite: str = "bookworm", apt_dir: Path = APT_DIR) -> str:
    """The URI of the first entry serving suite itself (not -security or -updates)."""
    mirror = _mirror_for(host_sources(apt_dir), suite)
    if not mirror:
        raise WorkshopError(
            f"no apt source for Debian {suite} found in {apt_dir}/sources.list(.d); "
            f"this step needs a Debian {suite} host"
        )
    return mirror


def security_mirror(suite: str = "bookworm", apt_dir: Path = APT_DIR) -> str | None:
    """The URI serving SUITE-security, if the host has one."""
    return _mirror_for(host_sources(apt_dir), f"{suite}-security")


# Debian releases a host may be: any one's archive serves every release (and its security archive
# every release's -security suite)
RELEASES = ("bookworm", "trixie", "forky", "bullseye", "sid")


def debian_archive(apt_dir: Path = APT_DIR) -> tuple[str, str | None]:
    """The Debian archive the host's apt uses, and its security archive if it has one, whatever release
    the host itself runs."""
    sources = host_sources(apt_dir)
    for release in RELEASES:
        mirror = _mirror_for(sources, release)
        if mirror:
            return mirror, _mirror_for(sources, f"{release}-security")
    raise WorkshopError(
        f"no Debian archive found in {apt_dir}/sources.list(.d); the Debian stand-in is made "
        f"with debootstrap on a Debian host: run scripts/prepare there, or where images can be pulled"
    )
