"""The lecture's pace against the plan the deck writes down: each part's budget (`[part]` lines),
shared among the part's slides as the clock charges them (deck/clock.py: a slide with more to say
gets more of it). Minutes are floats; times on screen are m:ss."""

from dataclasses import dataclass

from workshop.deck import clock as talk_clock
from workshop.deck.reader import Deck, Part

ON_TIME = 30.0  # seconds either way that still count as on time


@dataclass
class Pace:
    part: Part
    number: int  # which part (1-based) of how many
    parts: int
    elapsed: float  # seconds since the lecture started
    planned: float  # seconds the plan has used up when this slide comes on
    part_start: float  # seconds into the lecture the plan starts this part
    in_part: float | None  # seconds actually spent in this part so far (None: not known)

    @property
    def part_planned(self) -> float:
        return self.planned - self.part_start

    @property
    def budget(self) -> float:
        return self.part.minutes * 60


def clock(seconds: float) -> str:
    """125 -> '2:05'; minutes go past 60 rather than into hours (a lecture is counted in minutes)."""
    sign, seconds = ("-" if seconds < 0 else ""), abs(int(round(seconds)))
    return f"{sign}{seconds // 60}:{seconds % 60:02d}"


def pace(deck: Deck, slide: int, elapsed: float, first_shown: dict[int, float], now: float) -> Pace | None:
    """Where the lecture stands on this slide, or None when the deck has no parts."""
    parts = deck.parts
    current = deck.slide(slide).part if 1 <= slide <= len(deck.slides) else None
    if current is None:
        return None
    number = next(n for n, part in enumerate(parts, 1) if part is current)
    part_start = sum(part.minutes for part in parts[: number - 1]) * 60
    charged = [talk_clock.talk(deck.slide(n), deck.path.parent).seconds for n in range(current.first, current.last + 1)]
    share = sum(charged[: slide - current.first]) / sum(charged)
    entered = first_shown.get(current.first)
    return Pace(
        current,
        number,
        len(parts),
        elapsed,
        part_start + share * current.minutes * 60,
        part_start,
        None if entered is None else now - entered,
    )


def verdict(late: float) -> str:
    if abs(late) < ON_TIME:
        return "on time"
    return f"{clock(abs(late))} {'behind' if late > 0 else 'ahead'}"


def describe(p: Pace, started_at: str) -> list[str]:
    """Three lines: the part, the lecture clock against the plan, the part's own minutes."""
    part = p.part
    slides = f"slide {part.first}" if part.first == part.last else f"slides {part.first}-{part.last}"
    used = p.in_part if p.in_part is not None else max(p.elapsed - p.part_start, 0.0)
    left = p.budget - used
    return [
        f"part {p.number}/{p.parts}  {part.name}: {part.minutes:g} min budget, {slides} "
        f"(plan {clock(p.part_start)} to {clock(p.part_start + p.budget)})",
        f"time {clock(p.elapsed)} since {started_at}; the plan is at {clock(p.planned)} "
        f"on this slide: {verdict(p.elapsed - p.planned)}",
        f"in this part {clock(used)} used, {clock(p.part_planned)} planned so far, "
        + (f"{clock(left)} left" if left >= 0 else f"{clock(-left)} over its budget"),
    ]
