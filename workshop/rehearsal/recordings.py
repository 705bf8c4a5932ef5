"""Recordings of the deck's boxes: asciicast v2 files (the asciinema format: a JSON header line,
then one [time, kind, data] line per event), one per box, named after its slide and position,
with a header saying when and with which tools it was made."""

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.cluster import kubectl
from workshop.machine.engine import ENGINE as engine
from workshop.names import PROMPT

Event = tuple[float, str, str]


class Recording:
    """Collects what a terminal printed, with times, and writes it as asciicast v2."""

    def __init__(self, width: int, height: int, title: str, extra: dict | None = None):
        self.header = {
            "version": 2,
            "width": width,
            "height": height,
            "timestamp": int(time.time()),
            "title": title,
            "env": {"TERM": "linux", "SHELL": "/bin/bash"},
            **(extra or {}),
        }
        self.events: list[Event] = []

    def output(self, at: float, text: str) -> None:
        self.events.append((round(at, 6), "o", text))

    def marker(self, at: float, label: str) -> None:
        self.events.append((round(at, 6), "m", label))

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(self.header) + "\n")
            for event in sorted(self.events, key=lambda e: e[0]):
                handle.write(json.dumps(list(event), ensure_ascii=False) + "\n")


class CastError(ValueError):
    """A file that is not a readable asciicast v2 recording."""


def load(path: Path) -> tuple[dict, list[Event]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CastError(f"cannot read recording {path}: {error}") from None
    try:
        header = json.loads(lines[0])
        events = [tuple(json.loads(line)) for line in lines[1:] if line.strip()]
    except (IndexError, ValueError) as error:
        raise CastError(f"{path} is not an asciicast v2 file: {error}") from None
    if not isinstance(header, dict) or header.get("version") != 2:
        raise CastError(f"{path} is not an asciicast v2 file (no version 2 header)")
    if any(len(e) != 3 or not isinstance(e[0], (int, float)) for e in events):
        raise CastError(f"{path} has an event that is not [time, kind, data]")
    return header, events


ENTER = "enter"  # the marker written when the box's command line is entered


def enter_index(events: Sequence[Event]) -> int | None:
    """The position of the 'enter' marker: before it the shell's prompt, after it the command's run."""
    return next((i for i, (_, kind, data) in enumerate(events) if kind == "m" and data == ENTER), None)


def output_span(printed: str) -> tuple[int, int]:
    """Where the command's output lies in what the shell printed after Enter: after the shell's echo of
    the typed line, up to the next prompt. (0, -1) while the echo has not ended; end -1 while no prompt
    has come back. Replay, the HTML export and the deck-fit check all cut a recording here."""
    start = printed.find("\n") + 1
    return start, (printed.find(PROMPT, start) if start else -1)


def cast_name(box) -> str:
    """The file name of a box's recording, from its id: ID.cast (inserting a slide renames nothing)."""
    return f"{box.id}.cast"


def orphans(deck, folder: Path) -> list[Path]:
    """The recordings in folder that no box of the deck names (left by a box renamed or removed)."""
    named = {cast_name(box) for box in deck.boxes()}
    return sorted(path for path in folder.glob("*.cast") if path.name not in named)


def tool_versions() -> dict[str, str]:
    """What a recording was made with, for its header: the engine, its builder and image store too,
    since they change what a box prints."""
    versions = {"python": platform.python_version(), "os": f"{platform.system()} {platform.release()}"}
    found = engine.facts(timeout=10)
    if found:
        versions.update(
            docker=found.version,
            docker_client=found.client,
            docker_builder=found.builder,
            docker_image_store=found.image_store,
        )
    try:
        client = kubectl.client_version()
    except WorkshopError:  # no kubectl at all
        client = None
    if client:
        versions["kubectl"] = client
    return versions


def header() -> dict:
    """What every recording's header says about when and with what it was made."""
    return {"workshop": {"recorded": time.strftime("%Y-%m-%d"), "versions": tool_versions()}}
