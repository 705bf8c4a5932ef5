"""What every command shares: a problem the user can fix is one line on stderr, never a traceback; and
the whole story of that problem (the command that failed, what it printed, the chain of causes) in
.workshop/logs/last-error.txt, and on stderr too with WORKSHOP_DEBUG=1."""

import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from workshop import paths

# The exit statuses of every command, named once (docs/development.md has them as a table).
OK = 0
FAILED = 1  # it ran, and what it checked or did failed: a FAIL row, a box, a step, something left behind
PROBLEM = 2  # a problem the user can fix, said in one line (a WorkshopError), or a usage error (argparse)
TEACHERS = 3  # the workshop shell's kubectl on a student's namespace: the slide needs the teacher's cluster
INTERRUPTED = 130  # Ctrl-C

# How a long step reports progress: one short line at a time (prepare prints them, tests drop them).
Note = Callable[[str], None]


def quiet(_: str) -> None:
    """A Note that says nothing."""


class WorkshopError(Exception):
    """A problem the user can fix. The message says what to do; exit_code is the command's status;
    detail is what a maintainer needs besides (the full command, its output), never shown by default."""

    def __init__(self, message: str, exit_code: int = PROBLEM, detail: str = ""):
        super().__init__(message)
        self.exit_code = exit_code
        self.detail = detail


DEBUG_ENV = "WORKSHOP_DEBUG"


def story(error: BaseException, prog: str, argv: Sequence[str]) -> str:
    """Everything known about a failure: the command line, the one line the user saw, each error's
    detail along the chain of causes, and the traceback."""
    lines = [f"{time.strftime('%Y-%m-%d %H:%M:%S')} {prog} {' '.join(argv)}", f"{prog}: {error}", ""]
    seen: BaseException | None = error
    while seen is not None:
        detail = getattr(seen, "detail", "")
        if detail:
            lines += [detail.rstrip(), ""]
        seen = seen.__cause__ or seen.__context__
    lines += traceback.format_exception(error)
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


def story_file() -> Path:
    """Where the last failure's whole story is kept (a message that sends the user there names it)."""
    return paths.logs() / "last-error.txt"


def keep_story(error: BaseException, prog: str, argv: Sequence[str]) -> None:
    text = story(error, prog, argv)
    try:
        story_file().parent.mkdir(parents=True, exist_ok=True)
        story_file().write_text(text)
    except OSError:
        pass  # a read-only checkout: the one line is still said
    if os.environ.get(DEBUG_ENV) == "1":
        print(text, file=sys.stderr, end="")


def run(main: Callable[[Sequence[str]], int | None], prog: str, argv: Sequence[str] | None = None) -> None:
    """Call main(argv) and exit with its status, turning WorkshopError and Ctrl-C into one line."""
    arguments = sys.argv[1:] if argv is None else argv
    # started with Ctrl-C and Ctrl-\ ignored (a background job of a script): what it starts must hear them
    for number, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGQUIT, signal.SIG_DFL)):
        if signal.getsignal(number) is signal.SIG_IGN:
            signal.signal(number, handler)
    try:
        status = main(arguments)
    except WorkshopError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        keep_story(error, prog, arguments)
        status = error.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        status = INTERRUPTED
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        status = OK
    sys.exit(status or 0)
