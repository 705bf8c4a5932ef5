"""The one place that drives pseudo-terminals: a workshop shell started exactly as a deck box
starts it, commands typed into it, its output read back and its exit status learned.

The shell writes each command's exit status to a file named by WORKSHOP_STATUS_FILE (see
scripts/lib/workshop.bashrc), so the status never depends on what the screen shows.
"""

import os
import re
import shlex
import signal
import tempfile
import threading
import time
from collections.abc import Callable

from ptyprocess import PtyProcess

from workshop.names import PROMPT
from workshop.paths import ROOT

ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
PROMPT_AT_END = re.compile(re.escape(PROMPT) + r"$")


def default_signals() -> None:
    """In a box's shell before it starts: Ctrl-C and Ctrl-\\ act again, even where this process was
    started with them ignored (as a job in the background of a script is): an ignored signal stays
    ignored across exec, and then no Ctrl-C, the rehearsal's or a presenter's, stops a server."""
    for number in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)


class ShellError(Exception):
    """The shell did not start, did not answer in time, or died."""


def plain(text: str) -> str:
    """Terminal output as a person reads it: no escape sequences, no carriage returns."""
    text = ANSI.sub("", text)
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        lines.append(line.rsplit("\r", 1)[-1] if "\r" in line.rstrip("\r") else line.rstrip("\r"))
    return "\n".join(lines)


class ShellSession:
    """A workshop shell in its own pseudo-terminal; a reader thread keeps every byte it prints."""

    def __init__(
        self,
        command: str = "scripts/workshop-shell",
        cols: int = 106,
        rows: int = 10,
        env: dict | None = None,
        cwd=ROOT,
        on_output: Callable[[float, str], None] | None = None,
    ):
        self._status_dir = tempfile.mkdtemp(prefix="workshop-status-")
        self.status_file = os.path.join(self._status_dir, "status")
        child_env = dict(os.environ if env is None else env)
        child_env.update(TERM="linux", WORKSHOP_STATUS_FILE=self.status_file)
        argv = shlex.split(command)
        self.started = time.monotonic()
        self._chunks: list[str] = []
        self._length = 0
        self._changed = threading.Condition()
        self._on_output = on_output
        try:
            self.process = PtyProcess.spawn(
                argv, cwd=str(cwd), env=child_env, dimensions=(rows, cols), preexec_fn=default_signals
            )
        except (OSError, FileNotFoundError) as error:
            raise ShellError(f"cannot start {command!r}: {error}") from None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- output ---------------------------------------------------------------------------
    def _read(self) -> None:
        while True:
            try:
                data = self.process.read(65536)
            except EOFError:
                break
            text = data.decode("utf-8", "replace")
            if self._on_output:
                self._on_output(time.monotonic() - self.started, text)
            with self._changed:
                self._chunks.append(text)
                self._length += len(text)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def raw(self) -> str:
        with self._changed:
            return "".join(self._chunks)

    @property
    def mark(self) -> int:
        """A position in the output; text printed after it can be waited for."""
        with self._changed:
            return self._length

    def wait_for(self, pattern: str, since: int = 0, timeout: float = 30.0) -> re.Match | None:
        """Wait until the plain output after `since` matches pattern (multiline); None on timeout or exit."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = regex.search(plain("".join(self._chunks)[since:]))
                if found:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (not self.process.isalive() and not self._reader.is_alive()):
                    return None
                self._changed.wait(min(remaining, 0.5))

    # -- commands ---------------------------------------------------------------------------
    def wait_prompt(self, since: int = 0, timeout: float = 15.0) -> None:
        if self.wait_for(PROMPT_AT_END.pattern, since, timeout) is None:
            tail = plain(self.raw[since:]).strip().splitlines()[-3:]
            raise ShellError(f"no '{PROMPT}' prompt within {timeout:.0f} s (last output: {' | '.join(tail) or 'none'})")

    def type_line(self, line: str) -> int:
        """Type a command and press Enter; returns the mark where its output starts."""
        open(self.status_file, "w").close()
        start = self.mark
        self.process.write((line + "\r").encode())
        return start

    def finish(self, since: int, timeout: float) -> tuple[int | None, str]:
        """Wait for the command typed at `since` to end: (exit status or None on timeout, its output)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.wait_for(PROMPT_AT_END.pattern, since, deadline - time.monotonic()) is None:
                break
            status = self.read_status()
            if status is not None:
                return status, self.output_since(since)
            time.sleep(0.05)
        return None, self.output_since(since)

    def run(self, line: str, timeout: float = 30.0) -> tuple[int | None, str]:
        return self.finish(self.type_line(line), timeout)

    def read_status(self) -> int | None:
        try:
            text = open(self.status_file).read().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def output_since(self, since: int) -> str:
        """What the command printed: after the echoed command line, before the next prompt."""
        text = plain(self.raw[since:])
        _, newline, rest = text.partition("\n")
        rest = rest if newline else ""
        if rest.endswith(PROMPT):
            rest = rest[: -len(PROMPT)]
        return rest

    def interrupt(self) -> None:
        """Press Ctrl-C."""
        open(self.status_file, "w").close()
        self.process.write(b"\x03")

    def close(self, grace: float = 3.0) -> None:
        """End the shell and anything still running in its terminal."""
        if self.process.isalive():
            try:
                mark = self.mark
                self.process.write(b"\x03")  # stop whatever runs in the foreground
                self.wait_for(PROMPT_AT_END.pattern, mark, timeout=1.0)
                self.process.write(b"exit\r")
            except OSError:
                pass
            end = time.monotonic() + grace
            while self.process.isalive() and time.monotonic() < end:
                time.sleep(0.05)
            if self.process.isalive():
                self.process.terminate(force=True)
        self._reader.join(timeout=2)
        try:
            os.unlink(self.status_file)
        except OSError:
            pass
        os.rmdir(self._status_dir)

    def __enter__(self) -> "ShellSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
