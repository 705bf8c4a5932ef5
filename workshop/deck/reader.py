"""The one reader of slides.md: slides, their titles, terminal boxes and file blocks.

Everything else (rehearsal, recording, replay, checks, tests) uses this model; nothing
else parses the deck. It follows lookatme 2.5.5's rules where they matter: front matter
between the first two `---` lines, slides split by `---` lines, fenced code blocks whose
language is `terminal-ex` (a live box, YAML body) or `file` (a file shown on the slide).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from lookatme.contrib.terminal import TerminalExSchema

from workshop.cli import WorkshopError
from workshop.deck import directives as directive_rules
from workshop.paths import DECK, DECKS, is_lecture

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<lang>[^\s`]*)")
SEPARATOR = re.compile(r"^ {0,3}-{3,}\s*$")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
# The keys lookatme's TerminalExSchema accepts; anything else aborts the deck.
TERMINAL_KEYS = ("command", "rows", "init_text", "init_wait", "init_codeblock", "init_codeblock_lang")


class _NoDatesLoader(yaml.SafeLoader):
    """YAML as lookatme reads it: dates stay text (`date: 2026-11-22` is shown as written)."""


_NoDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(text: str):
    return yaml.load(text, Loader=_NoDatesLoader)


class DeckError(WorkshopError):
    """A malformed deck: the message names the file, the line and the slide."""


@dataclass
class Box:
    """A live terminal box (a `terminal-ex` block) and the hidden directives under it."""

    slide: int
    position: int  # 1-based, within the slide
    line: int  # line of the opening fence in the file
    spec: dict
    directives: directive_rules.Directives = field(default_factory=directive_rules.Directives)

    @property
    def command(self) -> str:
        return self.spec["command"]

    @property
    def typed(self) -> str | None:
        """The pre-typed command line (init_text), or None for a bare shell."""
        text = self.spec.get("init_text")
        return text.rstrip("\n") if text else None

    @property
    def rows(self) -> int:
        return int(self.spec.get("rows", 10))

    @property
    def label(self) -> str:
        return f"slide {self.slide} box {self.position}"

    @property
    def id(self) -> str:
        """Its name: the `id:` directive; a deck that names no box (a test's, a teacher's own) gets
        one from its place, which moves when a slide is inserted before it."""
        return self.directives.id or f"slide-{self.slide:02d}-box-{self.position}"


@dataclass
class FileBlock:
    line: int
    spec: dict

    @property
    def path(self) -> str:
        return self.spec.get("path", "")


@dataclass
class Part:
    """A part of the lecture and its time budget, from `[part]: # "NAME; MINUTES"` on its first slide."""

    name: str
    minutes: float
    line: int
    first: int = 0  # its first and last slide numbers
    last: int = 0


@dataclass
class Slide:
    number: int  # 1-based, as lookatme's footer counts
    line: int  # first line of the slide in the file
    lines: list[str] = field(default_factory=list)
    title: str = ""
    boxes: list[Box] = field(default_factory=list)
    files: list[FileBlock] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the speaker's hidden notes, in order
    clock: set[str] = field(default_factory=set)  # [clock] kinds: summary, question (deck/clock.py)
    part: Part | None = None  # the part of the lecture this slide belongs to


@dataclass
class Deck:
    path: Path
    meta: dict
    slides: list[Slide]

    def boxes(self) -> Iterator[Box]:
        for slide in self.slides:
            yield from slide.boxes

    @property
    def minutes(self) -> float:
        """The lecture's slot (front matter `minutes:`); the reader requires it of a deck with parts."""
        return slot_minutes(self.meta) or 0.0

    def box(self, name: str) -> Box | None:
        """The box with this id, or None."""
        return next((box for box in self.boxes() if box.id == name), None)

    def step_boxes(self, step: str, role: str) -> list[Box]:
        """The boxes that play this role (start, done, skip) in this student step, in deck order."""
        return [box for box in self.boxes() if box.directives.in_step(step, role)]

    def slide(self, number: int) -> Slide:
        return self.slides[number - 1]

    @property
    def parts(self) -> list[Part]:
        return [slide.part for slide in self.slides if slide.part and slide.part.first == slide.number]


def workshop_decks() -> list[Path]:
    """The workshop's decks, in order: the lecture, then the extras (when the checkout has them)."""
    return [path for path in DECKS if path.exists()]


def where(path: Path) -> str:
    """'' for the lecture's deck, ' of extras.md' for another: how a slide number names its deck."""
    return "" if is_lecture(path) else f" of {Path(path).name}"


def slot_minutes(meta: dict) -> float | None:
    """The lecture's slot from the front matter (`minutes: 75`), or None when it does not say or says
    something that is not a positive number."""
    value = meta.get(directive_rules.SLOT_KEY)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        return None
    return float(value)


def read(path: Path = DECK) -> Deck:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DeckError(f"cannot read the deck {path}: {error.strerror}") from None
    return parse(text, path)


def parse(text: str, path: str | Path = DECK) -> Deck:
    return _Reader(text, Path(path)).read()


class _Reader:
    def __init__(self, text: str, path: Path):
        self.lines = text.splitlines()
        self.path = path
        self.slides: list[Slide] = []
        self.meta: dict = {}

    def fail(self, line: int, message: str, slide: int | None = None) -> DeckError:
        where = f"{self.path.name} line {line}"
        if slide or self.slides:
            where += f" (slide {slide or self.slides[-1].number})"
        return DeckError(f"{where}: {message}")

    def read(self) -> Deck:
        meta, start = self.front_matter()
        self.meta = meta
        self.new_slide(start + 1)
        index = start
        while index < len(self.lines):
            line = self.lines[index]
            fence = FENCE.match(line)
            if fence:
                index = self.code_block(index, fence)
                continue
            if SEPARATOR.match(line):
                if index > start and self.lines[index - 1].strip():
                    raise self.fail(
                        index + 1,
                        "'---' right under a line of text makes that line a heading, "
                        "not a new slide: put a blank line before '---'",
                    )
                self.new_slide(index + 2)
            else:
                self.text_line(index, line)
            index += 1
        for slide in self.slides:
            if (slide.notes or slide.part) and not any(line.strip() for line in slide.lines):
                raise self.fail(slide.line, "a [notes] or [part] line on a slide with nothing else on it", slide.number)
        self.slides = [slide for slide in self.slides if any(line.strip() for line in slide.lines)]
        for number, slide in enumerate(self.slides, 1):
            slide.number = number
            for box in slide.boxes:
                box.slide = number
        self.parts()
        self.unique_ids()
        return Deck(self.path, meta, self.slides)

    def unique_ids(self) -> None:
        seen: dict[str, Box] = {}
        for slide in self.slides:
            for box in slide.boxes:
                if box.directives.id in seen:
                    first = seen[box.directives.id]
                    raise self.fail(
                        box.line,
                        f"the id {box.directives.id!r} is already {first.label}'s: give this box its own",
                        box.slide,
                    )
                if box.directives.id:
                    seen[box.directives.id] = box

    def parts(self) -> None:
        """Give every slide its part; the parts must start on slide 1 and add up to the lecture."""
        starts = [(slide.number, slide.part) for slide in self.slides if slide.part]
        if not starts:
            return
        if self.slides[0].part is None:
            raise self.fail(
                starts[0][1].line, "the parts must cover the whole deck: slide 1 needs a [part] line too", starts[0][0]
            )
        slot = slot_minutes(self.meta)
        if slot is None:
            raise self.fail(
                1,
                f"a deck with [part] lines says how long its slot is: add `{directive_rules.SLOT_KEY}: 75` to the front matter",
            )
        total = sum(part.minutes for _, part in starts)
        allowed = slot - directive_rules.SPARE_MINUTES
        if total > allowed + 1e-6:
            raise self.fail(
                starts[-1][1].line,
                f"the parts' budgets add up to {total:g} minutes; a {slot:g}-minute lecture keeps "
                f"{directive_rules.SPARE_MINUTES} spare, so at most {allowed:g}: "
                "change the minutes of a [part] line",
                starts[-1][0],
            )
        current = starts[0][1]  # slide 1's own part, as slide 1 has one
        for slide in self.slides:
            if slide.part:
                current, slide.part.first = slide.part, slide.number
            slide.part = current
            current.last = slide.number

    def front_matter(self):
        if not self.lines or self.lines[0].strip() != "---":
            return {}, 0
        for end in range(1, len(self.lines)):
            if self.lines[end].strip() == "---":
                try:
                    meta = _load_yaml("\n".join(self.lines[1:end])) or {}
                except yaml.YAMLError as error:
                    raise self.fail(1, f"the front matter is not valid YAML: {_yaml_problem(error)}") from None
                if not isinstance(meta, dict):
                    raise self.fail(1, "the front matter must be YAML keys (title:, author:, date:, ...)")
                return meta, end + 1
        raise self.fail(1, "the front matter opened with '---' is never closed with another '---'")

    def new_slide(self, line: int) -> None:
        self.slides.append(Slide(number=len(self.slides) + 1, line=line))

    def text_line(self, index: int, line: str) -> None:
        slide = self.slides[-1]
        if line.strip().startswith(directive_rules.PRESENTER_TAGS):
            self.presenter_line(index, line.strip())
            return
        directive = directive_rules.DIRECTIVE_LINE.match(line.strip())
        if directive:
            if not slide.boxes:
                raise self.fail(index + 1, "a [rehearse] directive must come after the terminal box it describes")
            box = slide.boxes[-1]
            try:
                box.directives = directive_rules.apply(box.directives, directive.group("body"))
                directive_rules.check_complete(box.directives)
            except directive_rules.DirectiveError as error:
                raise self.fail(index + 1, str(error)) from None
            return
        if line.strip().startswith("[rehearse]"):
            raise self.fail(index + 1, 'a directive is written [rehearse]: # "key: value" (with the double quotes)')
        slide.lines.append(line)
        heading = HEADING.match(line)
        if heading and not slide.title:
            slide.title = heading.group("title")

    def presenter_line(self, index: int, text: str) -> None:
        slide = self.slides[-1]
        notes, part = directive_rules.NOTES_LINE.match(text), directive_rules.PART_LINE.match(text)
        clock = directive_rules.CLOCK_LINE.match(text)
        try:
            if notes:
                slide.notes.append(directive_rules.note(notes.group("body")))
            elif clock:
                slide.clock.add(directive_rules.clock_kind(clock.group("body")))
            elif part and slide.part:
                raise directive_rules.DirectiveError(
                    f"this slide already starts the part {slide.part.name!r}: one [part] line per slide"
                )
            elif part:
                slide.part = Part(*directive_rules.part(part.group("body")), line=index + 1)
            else:
                raise directive_rules.DirectiveError(
                    'write a note as [notes]: # "text", a part as [part]: # "NAME; MINUTES" and a clock hint as '
                    '[clock]: # "summary" (with the double quotes)'
                )
        except directive_rules.DirectiveError as error:
            raise self.fail(index + 1, str(error)) from None

    def code_block(self, index: int, fence) -> int:
        marker, lang = fence.group("fence"), fence.group("lang")
        for end in range(index + 1, len(self.lines)):
            closing = self.lines[end].strip()
            if closing.startswith(marker[0] * len(marker)) and not closing.strip(marker[0]):
                body = self.lines[index + 1 : end]
                self.slides[-1].lines.extend(self.lines[index : end + 1])
                if lang == "terminal-ex":
                    self.terminal_box(index + 1, body)
                elif lang == "file":
                    self.slides[-1].files.append(FileBlock(index + 1, self.yaml_body(index + 1, body, "file")))
                elif lang.startswith("terminal"):
                    raise self.fail(
                        index + 1,
                        f"'{lang}' boxes have no prompt to wait for: write a terminal-ex "
                        "block that starts scripts/workshop-shell",
                    )
                return end + 1
        raise self.fail(index + 1, f"the code block opened with {marker} is never closed")

    def yaml_body(self, line: int, body: list[str], kind: str) -> dict:
        try:
            spec = _load_yaml("\n".join(body))
        except yaml.YAMLError as error:
            raise self.fail(line, f"the {kind} block is not valid YAML: {_yaml_problem(error)}") from None
        if not isinstance(spec, dict):
            raise self.fail(line, f"the {kind} block must hold YAML keys such as path: or command:")
        return spec

    def terminal_box(self, line: int, body: list[str]) -> None:
        spec = self.yaml_body(line, body, "terminal-ex")
        unknown = sorted(set(spec) - set(TERMINAL_KEYS))
        if unknown:
            raise self.fail(line, f"terminal-ex does not accept {unknown[0]!r}; it accepts {', '.join(TERMINAL_KEYS)}")
        # the values, checked by lookatme's own schema: what it would reject with a traceback
        problems = TerminalExSchema().validate(spec)
        if problems:
            key, messages = sorted(problems.items())[0]
            raise self.fail(line, f"terminal-ex {key}: {spec.get(key)!r} is wrong ({' '.join(messages)})")
        if not isinstance(spec.get("command"), str) or not spec["command"].strip():
            raise self.fail(line, "a terminal-ex block needs command: (scripts/workshop-shell)")
        if spec.get("init_text") is not None and not spec.get("init_wait"):
            raise self.fail(line, "init_text is only typed when init_wait is set: add init_wait: 'workshop$ '")
        if spec.get("init_text") is None and spec.get("init_codeblock", True):
            raise self.fail(
                line,
                "a terminal-ex block without init_text must say init_codeblock: false "
                "(lookatme 2.5.5 aborts the whole deck otherwise)",
            )
        slide = self.slides[-1]
        slide.boxes.append(Box(slide=slide.number, position=len(slide.boxes) + 1, line=line, spec=spec))


def _yaml_problem(error: yaml.YAMLError) -> str:
    return str(getattr(error, "problem", None) or error).splitlines()[0]


def parse_slide_ranges(text: str, count: int) -> list[int]:
    """'4-9,12' -> [4, 5, 6, 7, 8, 9, 12]; numbers outside 1..count are an error."""
    chosen: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise WorkshopError(f"--slides takes numbers and ranges such as 4-9,12, not {part!r}") from None
        if low > high:
            raise WorkshopError(f"--slides {part}: a range goes from the lower number to the higher, e.g. {high}-{low}")
        if not 1 <= low <= high <= count:
            raise WorkshopError(f"--slides {part}: the deck has slides 1 to {count}")
        chosen.extend(range(low, high + 1))
    return sorted(set(chosen))
