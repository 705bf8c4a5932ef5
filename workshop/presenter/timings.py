"""How long each slide's boxes took in the last rehearsal: scripts/rehearse writes its report to
LAST_REHEARSAL (rehearsal.report.write_json's format) and the notes view reads it here."""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from workshop import paths


def last_rehearsal() -> Path:
    return paths.state() / "last-rehearsal.json"


@dataclass
class Report:
    deck: Path
    made: float  # when it was written
    steps: list[dict]
    slide_seconds: dict[int, float] = field(default_factory=dict)  # the walk in the real TUI (--tui)
    mode: str = ""

    def of_slide(self, slide: int) -> list[dict]:
        return [step for step in self.steps if step.get("slide") == slide]


def load(path: Path | None = None) -> Report | None:
    """The last rehearsal's report, or None when there is none yet (or it cannot be read)."""
    path = path or last_rehearsal()
    try:
        data = json.loads(path.read_text())
        slides = {int(k): float(v) for k, v in (data.get("slide_seconds") or {}).items()}
        return Report(
            Path(data["deck"]).resolve(), path.stat().st_mtime, list(data["steps"]), slides, str(data.get("mode") or "")
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def describe(report: Report | None, deck: Path, slide: int, boxes: int, now: float) -> list[str]:
    """The lines the notes view shows under 'last rehearsal'."""
    if not boxes:
        return ["no boxes on this slide"]
    if report is None:
        return ["no rehearsal yet: scripts/rehearse records how long each box takes"]
    if report.deck != Path(deck).resolve():
        return [f"the last rehearsal was of {report.deck.name}, not {Path(deck).name}: run scripts/rehearse"]
    steps = report.of_slide(slide)
    if not steps:
        return [f"slide {slide} was not in the last rehearsal: scripts/rehearse --slides {slide}"]
    lines = [
        f"box {s.get('box')}  {s.get('verdict', '?'):<4} {float(s.get('seconds') or 0):6.1f} s  "
        f"{s.get('command') or ''}"
        for s in steps
    ]
    total = sum(float(s.get("seconds") or 0) for s in steps)
    lines.append(f"this slide's boxes: {total:.1f} s, rehearsed {_ago(now - report.made)}")
    if slide in report.slide_seconds:
        lines.append(f"the whole slide in the real deck ({report.mode}): {report.slide_seconds[slide]:.1f} s")
    return lines


def _ago(seconds: float) -> str:
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h ago"
    return time.strftime("on %Y-%m-%d", time.localtime(time.time() - seconds))
