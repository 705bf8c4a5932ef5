"""What the workshop made, written down when it makes it: the one proof of ownership.

A name prefix or a label proves nothing (a user may call their container workshop-db, and
every image built FROM a stand-in inherits its label), so cleanup removes only what this
record names, plus the exact names the deck itself declares. Each entry is one thing:

    {"kind": "image", "name": "python:3.12-slim-trixie", "id": "sha256:...", "role": "standin", "at": "..."}

kinds: container, image, registry (the process or container prepare started), registry-tag,
cluster, namespace. The record lives in the checkout's state folder (.workshop/made.json)."""

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workshop import paths

FILE = "made.json"


def _path():
    return paths.state() / FILE


@contextmanager
def _locked() -> Iterator[list[dict]]:
    """The entries, locked against a second writer (prepare and a rehearsal may run at once)."""
    paths.state().mkdir(parents=True, exist_ok=True)
    with open(paths.state() / f".{FILE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = load()
        yield entries
        temporary = _path().with_suffix(".tmp")
        temporary.write_text(json.dumps(entries, indent=1) + "\n")
        os.replace(temporary, _path())


def load() -> list[dict]:
    try:
        entries = json.loads(_path().read_text())
    except (OSError, ValueError):
        return []
    return [entry for entry in entries if isinstance(entry, dict) and "kind" in entry and "name" in entry]


def record(kind: str, name: str, **facts) -> None:
    """Write down that the workshop made this (replacing an older entry of the same kind and name)."""
    with _locked() as entries:
        entries[:] = [e for e in entries if (e["kind"], e["name"]) != (kind, name)]
        entries.append({"kind": kind, "name": name, **facts, "at": time.strftime("%Y-%m-%d %H:%M:%S")})


def forget(kind: str, name: str) -> None:
    with _locked() as entries:
        entries[:] = [e for e in entries if (e["kind"], e["name"]) != (kind, name)]


def find(kind: str, name: str) -> dict | None:
    return next((e for e in load() if (e["kind"], e["name"]) == (kind, name)), None)


def of_kind(kind: str) -> list[dict]:
    return [e for e in load() if e["kind"] == kind]


def before_build(image: str, role: str) -> Path:
    """Record an image build before it starts. The build is to write its image id to the file returned
    (`docker build --iidfile`): an image finished just before a Ctrl-C, and not yet recorded by id, is
    still proven the workshop's by that file. The id recorded earlier, if any, stays until the new one
    replaces it, as the image it names is still there under the tag."""
    iid = paths.state() / "builds" / (hashlib.sha256(image.encode()).hexdigest()[:16] + ".iid")
    iid.parent.mkdir(parents=True, exist_ok=True)
    iid.unlink(missing_ok=True)
    old = find("image", image) or {}
    record("image", image, id=old.get("id"), role=role, iidfile=str(iid))
    return iid


def image_ids(entry: dict) -> set[str]:
    """The ids an image entry proves the workshop's: the one recorded, and one its unfinished record's
    build wrote."""
    ids = {entry["id"]} if entry.get("id") else set()
    try:
        ids.add(Path(entry["iidfile"]).read_text().strip())
    except (KeyError, OSError):
        pass
    return ids - {""}
