"""The hidden rehearsal directives written under a terminal box.

A directive is a Markdown link reference definition, which lookatme parses and never shows:

    [rehearse]: # "expect: Serving on"

Keys (one per line, as many lines as needed):
    expect: REGEX    the command's output must match (searched line by line; repeatable)
    reject: REGEX    the output must not match (repeatable; `reject: \\S`: it must print nothing)
    timeout: SECONDS how long the command may take (default 30)
    ready: REGEX     a long-running command (a server in the foreground, `docker run -it`):
                     wait for REGEX, keep it running while the next boxes of the slide run,
                     then press Ctrl-C when the slide ends
    exit: N          the exit status it must end with (default 0)
    fails            it must fail (any non-zero exit status)
    needs: A, B      what it needs besides a shell: docker, cluster (rehearse --without skips them)
    stuck: K=V       pods with this label are broken on purpose from this box on (the crash lesson):
                     while a later box waits, the rehearsal does not stop it early for them
    id: NAME         the box's name, unique in its deck: its recording is recordings/NAME.cast, and the
                     code that points at a box (hints, the class board) names it so, never by its text
    step: NAME ROLES where the box stands in a student step (`scripts/check NAME`): start (the check
                     must fail just before it), done (it passes just after), skip (catch-up passes
                     over the box when the check already passes); ROLES separated by commas
    pause: SECONDS   the presenter's pause before the box, which rehearsals keep (up to 10 s): for a box
                     that reads what the engine records a moment after the box before it ended
"""

import math
import re
from dataclasses import dataclass, field, replace

DIRECTIVE_LINE = re.compile(r'^\[rehearse\]:\s*#\s*"(?P<body>.*)"\s*$')
DEFAULT_TIMEOUT = 30.0
# nodes: two or more worker nodes (kind's cluster); on a one-node cluster such a box is skipped
KNOWN_NEEDS = ("docker", "cluster", "registry", "nodes")
KEYS = ("expect", "reject", "timeout", "ready", "exit", "fails", "needs", "stuck", "id", "step", "pause")
MAX_PAUSE = 10.0
NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
STEP_ROLES = ("start", "done", "skip")
LABEL = re.compile(r"^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]+$")


class DirectiveError(ValueError):
    """A directive that cannot be understood; the message says which part and why."""


@dataclass(frozen=True)
class Directives:
    expect: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    ready: str | None = None
    exit: int = 0
    fails: bool = False
    needs: tuple[str, ...] = field(default_factory=tuple)
    stuck: tuple[str, ...] = ()  # label selectors (key=value) of pods broken on purpose
    id: str | None = None
    steps: tuple[tuple[str, str], ...] = ()  # (step, role)
    pause: float = 0.0  # seconds the rehearsals wait before running the box

    @property
    def long_running(self) -> bool:
        return self.ready is not None

    def in_step(self, step: str, role: str) -> bool:
        return (step, role) in self.steps

    def status_ok(self, status: int) -> bool:
        return status != 0 if self.fails else status == self.exit

    def describe_status(self) -> str:
        return "a non-zero exit status" if self.fails else f"exit status {self.exit}"


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise DirectiveError(f"bad regular expression {value!r}: {error}") from None
    return value


def _seconds(value: str) -> float:
    """VALUE as a number of seconds; NaN when it is none (no bound holds for NaN)."""
    try:
        return float(value)
    except ValueError:
        return math.nan


def apply(directives: Directives, body: str) -> Directives:
    """Return directives with one more `key: value` (or bare `fails`) applied."""
    key, sep, value = body.partition(":")
    key, value = key.strip(), value.strip()
    if key not in KEYS:
        raise DirectiveError(f"unknown directive {key!r}; known: {', '.join(KEYS)}")
    if key == "fails":
        if sep:
            raise DirectiveError("'fails' takes no value")
        return replace(directives, fails=True)
    if not value:
        raise DirectiveError(f"'{key}:' needs a value")
    if key in ("expect", "reject"):
        return replace(directives, **{key: getattr(directives, key) + (_regex(value),)})
    if key == "ready":
        return replace(directives, ready=_regex(value))
    if key == "timeout":
        seconds = _seconds(value)
        if not 0 < seconds < math.inf:
            raise DirectiveError(f"timeout must be a positive number of seconds, not {value!r}")
        return replace(directives, timeout=seconds)
    if key == "pause":
        seconds = _seconds(value)
        if not 0 < seconds <= MAX_PAUSE:
            raise DirectiveError(f"pause must be a number of seconds above 0, at most {MAX_PAUSE:g}, not {value!r}")
        return replace(directives, pause=seconds)
    if key == "exit":
        if not value.isdigit() or int(value) > 255:
            raise DirectiveError(f"exit must be a status from 0 to 255, not {value!r}")
        return replace(directives, exit=int(value))
    if key == "id":
        if not NAME.match(value) or directives.id:
            raise DirectiveError(f"a box has one id of lowercase letters, digits and dashes, not {value!r}")
        return replace(directives, id=value)
    if key == "step":
        name, _, roles = value.partition(" ")
        wanted = tuple(role.strip() for role in roles.split(",") if role.strip())
        if not NAME.match(name) or not wanted or any(role not in STEP_ROLES for role in wanted):
            raise DirectiveError(
                f"step is written 'step: NAME ROLE,ROLE' with roles among {', '.join(STEP_ROLES)}, not {value!r}"
            )
        return replace(directives, steps=directives.steps + tuple((name, role) for role in wanted))
    if key == "stuck":
        if not LABEL.match(value):
            raise DirectiveError(f"stuck takes one label as key=value (e.g. app=ok-worker-typo), not {value!r}")
        return replace(directives, stuck=directives.stuck + (value,))
    needs = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [need for need in needs if need not in KNOWN_NEEDS]
    if unknown:
        raise DirectiveError(f"unknown need {unknown[0]!r}; known: {', '.join(KNOWN_NEEDS)}")
    return replace(directives, needs=directives.needs + needs)


def check_complete(directives: Directives) -> None:
    """Combinations that make no sense on their own."""
    if directives.fails and directives.exit:
        raise DirectiveError("use either 'fails' or 'exit: N', not both")
    if directives.long_running and (directives.fails or directives.exit):
        raise DirectiveError("a long-running box ('ready:') ends with Ctrl-C; it cannot also expect an exit status")


# The presenter's hidden lines (scripts/notes shows them): any number of speaker notes per slide,
#     [notes]: # "say why namespaces matter"
# and, on the first slide of each part of the lecture, its name and budget in minutes:
#     [part]: # "Docker; 25"
NOTES_LINE = re.compile(r'^\[notes\]:\s*#\s*"(?P<body>.*)"\s*$')
# and, where a slide takes a presenter other than its words suggest, what the clock should know:
#     [clock]: # "summary"     read out, not taught (a recap, pointers): charged less
#     [clock]: # "question"    the class answers a question aloud: charged more
CLOCK_LINE = re.compile(r'^\[clock\]:\s*#\s*"(?P<body>.*)"\s*$')
CLOCK_KINDS = ("summary", "question")
PART_LINE = re.compile(r'^\[part\]:\s*#\s*"(?P<body>.*)"\s*$')
PRESENTER_TAGS = ("[notes]", "[part]", "[clock]")
SLOT_KEY = "minutes"  # the front matter's key for the lecture's slot, in minutes (`minutes: 75`)
SPARE_MINUTES = 5  # kept free of any part: questions, a box run again; the parts get the rest


def note(body: str) -> str:
    if not body.strip():
        raise DirectiveError("a note needs some text between the double quotes")
    return body.strip()


def clock_kind(body: str) -> str:
    if body.strip() not in CLOCK_KINDS:
        raise DirectiveError(f"a [clock] line says one of {', '.join(CLOCK_KINDS)}, not {body!r}")
    return body.strip()


def part(body: str) -> tuple[str, float]:
    """'Docker; 25' -> ('Docker', 25.0)."""
    name, sep, minutes = body.rpartition(";")
    try:
        budget = float(minutes) if sep else -1.0
    except ValueError:
        budget = -1.0
    if not name.strip() or not 0 < budget < float("inf"):  # NaN fails this too
        raise DirectiveError(f'a part is written [part]: # "NAME; MINUTES" (e.g. "Docker; 25"), not {body!r}')
    return name.strip(), budget
