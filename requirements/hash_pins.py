"""Write the sha256 hashes of every pin in the requirement files given (scripts/lib/bootstrap.sh installs
them with --require-hashes, which needs a hash on every line):

    .venv/bin/python requirements/hash_pins.py requirements/workshop.txt requirements/dev.txt

For each `name==version` line (a marker after ';' is kept), the hashes are those of every file of that
release that pip may pick on Linux (x86_64 and aarch64, glibc or musl) or macOS (x86_64 and arm64) with
CPython 3.10 to 3.14, read from the package index's JSON listing; an sdist is added only where one of those
gets no wheel. Hashes already there are replaced. It prints what it chose, and which pins are sdists only.
"""
import json
import re
import sys
import urllib.request
from pathlib import Path

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

INDEX = "https://pypi.org/simple"
PYTHONS = [(3, minor) for minor in range(10, 15)]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(;[^\\#]*)?")


def linux(arch: str) -> list[str]:
    names = [f"manylinux_2_{glibc}_{arch}" for glibc in range(45, 4, -1)] + [f"manylinux2014_{arch}"]
    if arch == "x86_64":
        names += ["manylinux2010_x86_64", "manylinux1_x86_64"]
    return names + [f"musllinux_1_{musl}_{arch}" for musl in (2, 1, 0)]


PLATFORMS = {"linux-x86_64": linux("x86_64"), "linux-aarch64": linux("aarch64"),
             "macos-x86_64": list(mac_platforms((26, 0), "x86_64")),
             "macos-arm64": list(mac_platforms((26, 0), "arm64"))}


def targets() -> list[tuple[str, set[Tag], dict[str, str], tuple[int, int]]]:
    found = []
    for python in PYTHONS:
        interpreter = f"cp{python[0]}{python[1]}"
        for platform, names in PLATFORMS.items():
            system, machine = platform.split("-")
            tags = set(cpython_tags(python, [interpreter], names)) | set(compatible_tags(python, interpreter, names))
            env = {"python_version": f"{python[0]}.{python[1]}", "python_full_version": f"{python[0]}.{python[1]}.0",
                   "sys_platform": "linux" if system == "linux" else "darwin",
                   "platform_system": "Linux" if system == "linux" else "Darwin", "platform_machine": machine,
                   "implementation_name": "cpython", "platform_python_implementation": "CPython"}
            found.append((f"{platform} {interpreter}", tags, env, python))
    return found


TARGETS = targets()


File = tuple[str, str, frozenset[Tag] | None, str | None]


def release_files(name: str, version: str) -> list[File]:
    """(file name, sha256, wheel tags or None for an sdist, Requires-Python) of one release."""
    request = urllib.request.Request(f"{INDEX}/{canonicalize_name(name)}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        listing = json.load(response)
    found: list[File] = []
    for entry in listing["files"]:
        filename, digest, requires = entry["filename"], entry["hashes"]["sha256"], entry.get("requires-python")
        if filename.endswith(".whl"):
            _, wheel_version, _, tags = parse_wheel_filename(filename)
            if wheel_version == Version(version):
                found.append((filename, digest, tags, requires))
        elif filename.endswith((".tar.gz", ".zip")):
            try:
                _, sdist_version = parse_sdist_filename(filename)
            except ValueError:
                continue
            if sdist_version == Version(version):
                found.append((filename, digest, None, requires))
    return found


def choose(name: str, version: str, marker: str) -> list[tuple[str, str]]:
    release = release_files(name, version)
    keep: dict[str, str] = {}
    from_sdist, excluded = [], set()
    for label, tags, env, python in TARGETS:
        if marker and not Marker(marker).evaluate(env):
            continue
        here = [(filename, digest, wheel_tags) for filename, digest, wheel_tags, requires in release
                if not requires or any(SpecifierSet(requires).contains(f"{python[0]}.{python[1]}.{micro}")
                                       for micro in (0, 99))]
        if not here:
            excluded.add(label.split()[1])
            continue
        fitting = [(f, d) for f, d, wheel_tags in here if wheel_tags is not None and set(wheel_tags) & tags]
        if not fitting:
            fitting = [(f, d) for f, d, wheel_tags in here if wheel_tags is None]
            if not fitting:
                raise SystemExit(f"{name}=={version}: no file for {label}")
            from_sdist.append(label)
        keep.update(fitting)
    chosen = sorted(keep.items())
    kind = "sdist only" if all(not f.endswith(".whl") for f, _ in chosen) else f"{len(chosen)} file(s)"
    print(f"{name}=={version}: {kind}"
          + (f"; built from the sdist on {len(from_sdist)} of the targets" if from_sdist and kind != "sdist only" else "")
          + (f"; not for {', '.join(sorted(excluded))} (Requires-Python)" if excluded else ""))
    return chosen


def rewrite(path: Path) -> None:
    lines, out = path.read_text().splitlines(), []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        while line.rstrip().endswith("\\") and index < len(lines):      # a pin hashed before: read it whole
            line = line.rstrip()[:-1] + " " + lines[index].strip()
            index += 1
        match = PIN.match(re.split(r"\s--hash=", line)[0])
        if not match:
            out.append(line)
            continue
        name, version, marker = match.group(1), match.group(2), (match.group(3) or "").lstrip(";").strip()
        chosen = choose(name, version, marker)
        out.append(f"{name}=={version}" + (f" ; {marker}" if marker else "") + " \\")
        out += [f"    --hash=sha256:{digest}" + (" \\" if n < len(chosen) - 1 else "") for n, (_, digest) in enumerate(chosen)]
    path.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(f"# {argument}")
        rewrite(Path(argument))
