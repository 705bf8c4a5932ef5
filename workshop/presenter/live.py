"""The small state file through which the live deck tells the notes view where it is.

scripts/present writes it on every slide change (atomically: a reader never sees half a file)
and removes it when the deck ends; scripts/notes polls it. Nothing else is shared."""

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from workshop import paths
from workshop.machine import processes


def state_file() -> Path:
    return paths.state() / "presenter.json"


@dataclass
class Live:
    """What the deck last published."""

    deck: Path
    slide: int  # 1-based, as the footer shows it
    count: int
    changed: float  # when this slide came on screen (time.time())
    started: float | None  # when slide 1 was first shown: the lecture's start
    pid: int
    first_shown: dict[int, float] = field(default_factory=dict)  # slide -> when it was first on screen


class Publisher:
    """The deck's side: called on every slide lookatme draws."""

    def __init__(self, deck: Path, path: Path | None = None):
        self.deck, self.path = Path(deck), path or state_file()
        self.current: int | None = None
        self.first_shown: dict[int, float] = {}

    def show(self, slide: int, count: int) -> None:
        if slide == self.current:  # a redraw or a reload of the same slide
            return
        now = time.time()
        self.current = slide
        self.first_shown.setdefault(slide, now)
        state = {
            "deck": str(self.deck),
            "slide": slide,
            "count": count,
            "changed": now,
            "started": self.first_shown.get(1),
            "pid": os.getpid(),
            "first_shown": {str(k): v for k, v in self.first_shown.items()},
        }
        try:
            write_atomically(self.path, json.dumps(state))
        except OSError:
            pass  # the deck goes on; the notes view just falls behind

    def close(self) -> None:
        """The deck ended: take the file away, if it is still ours."""
        live = read(self.path)
        if live is None or live.pid == os.getpid():
            try:
                self.path.unlink()
            except OSError:
                pass


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(text)
    os.replace(scratch, path)


def read(path: Path | None = None) -> Live | None:
    """The running deck's state, or None when no deck runs (no file, a broken one, or its deck is gone)."""
    try:
        data = json.loads((path or state_file()).read_text())
        live = Live(
            Path(data["deck"]),
            int(data["slide"]),
            int(data["count"]),
            float(data["changed"]),
            None if data.get("started") is None else float(data["started"]),
            int(data["pid"]),
            {int(k): float(v) for k, v in (data.get("first_shown") or {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return live if processes.alive(live.pid) else None
