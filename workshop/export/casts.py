"""A box's recording, as the exported page plays it.

The recording is recordings/ID.cast (the box's id), found with cast_name() and read with load().
The page plays it up to the prompt that follows the command's output, as `scripts/present
--replay` does: what comes after is the rehearsal closing the shell. The poster (what the
player shows before it is started) is that last moment: the command and all it printed. The
recording's markers ("m" events, such as `enter` where the command was typed) stay in, and the
player shows them on its progress bar and jumps to them.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workshop.rehearsal import recordings
from workshop.rehearsal.recordings import cast_name


@dataclass
class Cast:
    """One box's recording, or why there is none (`problem`)."""

    name: str  # ID.cast
    source: Path
    problem: str | None = None  # "does not exist" or why it cannot be read
    header: dict = field(default_factory=dict)
    events: list[recordings.Event] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.name[: -len(".cast")]

    @property
    def ok(self) -> bool:
        return self.problem is None

    def end_time(self, idle_limit: float) -> float:
        """When the last event plays once pauses longer than idle_limit are cut to it (as the
        player's idleTimeLimit does)."""
        played = previous = 0.0
        for at, _, _ in self.events:
            played += min(max(float(at) - previous, 0.0), idle_limit)
            previous = float(at)
        return played

    @property
    def markers(self) -> list[tuple[float, str]]:
        return [(float(at), str(label)) for at, kind, label in self.events if kind == "m"]

    def text(self) -> str:
        """The trimmed recording as asciicast v2 text."""
        lines = [json.dumps(self.header, ensure_ascii=False)]
        lines += [json.dumps(list(event), ensure_ascii=False) for event in self.events]
        return "\n".join(lines) + "\n"


def find(box, folder: Path) -> Cast:
    """The recording of box in folder, checked and trimmed; a Cast with a problem when it is missing
    or unreadable (the page then shows the command and says so, never an empty player)."""
    name = cast_name(box)
    path = Path(folder) / name
    if not path.is_file():
        return Cast(name, path, problem="does not exist")
    try:
        header, events = recordings.load(path)
    except recordings.CastError as error:
        return Cast(name, path, problem=f"cannot be read ({str(error).removeprefix(str(path)).strip(' :')})")
    if not any(kind == "o" for _, kind, _ in events):
        return Cast(name, path, problem="holds no output")
    return Cast(name, path, header=header, events=until_next_prompt(events))


def until_next_prompt(events: Sequence[recordings.Event]) -> list[recordings.Event]:
    """The events up to the one that prints the prompt after the command's output (all of them when
    there is no `enter` marker or no later prompt)."""
    events = list(events)
    enter = recordings.enter_index(events)
    if enter is None:
        return events
    printed = ""
    for index in range(enter + 1, len(events)):
        _, kind, data = events[index]
        if kind == "o":
            printed += data
            if recordings.output_span(printed)[1] >= 0:
                return events[: index + 1]
    return events


def script(cast: Cast) -> str:
    """A script that hands the recording to the page. A page opened from file:// may not fetch() a
    file beside it, but it may load a script."""
    return (
        f"(window.WORKSHOP_CASTS = window.WORKSHOP_CASTS || {{}})[{json.dumps(cast.stem)}] = "
        f"{json.dumps(cast.text())};\n"
    )
