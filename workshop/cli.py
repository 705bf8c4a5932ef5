"""What every command shares: a problem the user can fix is one line on stderr, never a traceback."""

import sys
from collections.abc import Callable, Sequence

# How a long step reports progress: one short line at a time (prepare prints them, tests drop them).
Note = Callable[[str], None]


def quiet(_: str) -> None:
    """A Note that says nothing."""


class WorkshopError(Exception):
    """A problem the user can fix. The message says what to do; exit_code is the command's status."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def run(main: Callable[[Sequence[str]], int | None], prog: str, argv: Sequence[str] | None = None) -> None:
    """Call main(argv) and exit with its status, turning WorkshopError and Ctrl-C into one line."""
    try:
        status = main(sys.argv[1:] if argv is None else argv)
    except WorkshopError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        status = error.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        status = 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        status = 0
    sys.exit(status or 0)
