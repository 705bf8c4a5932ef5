"""The replay shell: what a deck box runs instead of bash when WORKSHOP_REPLAY names a folder of
recordings (`scripts/present --replay`), so the lecture can be followed without Docker or a cluster.

It looks like the workshop shell (same `workshop$ ` prompt, so lookatme types the box's command at
once) but runs nothing. A line equal to one of the deck's pre-typed commands plays that box's
recording (recordings/ID.cast, after the box's id, made by scripts/record): the output printed after the
command was typed, at the pace it was printed, long pauses shortened. Anything else gets a one-line
explanation. Ctrl-C stops a playback; `exit` or Ctrl-D leaves.

A long-running box (a server, `docker run -it`: the deck marks them `ready:`) plays until the
moment the rehearsal pressed Ctrl-C, then keeps "running" until the student presses Ctrl-C too.
When several boxes share one command, the first of them that has a recording is played.
"""

import contextlib
import hashlib
import os
import re
import signal
import sys
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workshop.deck import reader as deck_reader
from workshop.names import PROMPT
from workshop.paths import DECK, ROOT
from workshop.presenter import live
from workshop.rehearsal import recordings
from workshop.rehearsal.recordings import cast_name

IDLE_LIMIT = 2.0  # longest pause kept, in seconds (asciinema's idle_time_limit)
BRACKETED_PASTE_ON = "\x1b[?2004h"
ONLY_LECTURE = "replay mode: only the lecture's own commands play back here; install Docker to run your own"


@dataclass
class Playback:
    """What to print for one box: timed pieces, and where a long-running command waits for Ctrl-C."""

    before: list[tuple[float, str]]  # (seconds to wait first, text)
    after: list[tuple[float, str]]  # played once the student presses Ctrl-C (long-running)
    waits: bool  # True: hold between `before` and `after`


def _timed(segments: list[tuple[float, str]], start: int, end: int, since: float) -> list[tuple[float, str]]:
    """The characters [start, end) of the joined segments, each piece with its (capped) pause."""
    pieces, offset, previous = [], 0, since
    for at, text in segments:
        low, high = max(start, offset), min(end, offset + len(text))
        if low < high:
            pieces.append((min(max(at - previous, 0.0), IDLE_LIMIT), text[low - offset : high - offset]))
            previous = at
        offset += len(text)
    return pieces


def playback(events: Sequence[recordings.Event], long_running: bool, ready: str | None = None) -> Playback:
    """Cut a box's recording down to what the command printed.

    Before the 'enter' marker is the shell's prompt; right after it, the shell's echo of the typed
    line (the student's own terminal echoes that now); then the output, up to the next prompt.
    Everything after that prompt is the rehearsal closing the shell.
    """
    enter = recordings.enter_index(events)
    if enter is None:
        raise recordings.CastError("it has no 'enter' marker, so where the command starts is unknown")
    since = float(events[enter][0])
    segments = [(float(at), data) for at, kind, data in events[enter + 1 :] if kind == "o"]
    text = "".join(data for _, data in segments)
    start, end = recordings.output_span(text)  # start 0 when the echo never ended: play everything
    end = len(text) if end < 0 else end
    if text.endswith(BRACKETED_PASTE_ON, 0, end):
        end -= len(BRACKETED_PASTE_ON)
    hold = text.find("^C", start, end) if long_running else -1
    if hold < 0:
        return Playback(_timed(segments, start, end, since), [], long_running)
    # A server plays up to its ready line, then waits: what it printed later in the recording
    # answered the slide's other boxes, which this replay cannot know it is answering.
    found = re.compile(ready, re.MULTILINE).search(text, start, hold) if ready else None
    if found:
        line_end = text.find("\n", found.end(), hold)
        hold_at = hold if line_end < 0 else line_end + 1
    else:
        hold_at = hold
    before = _timed(segments, start, hold_at, since)
    after = _timed(segments, hold + 2, end, _time_at(segments, hold))
    return Playback(before, after, True)


def _time_at(segments: list[tuple[float, str]], position: int) -> float:
    """When the character at `position` of the joined segments was printed."""
    offset = 0
    for at, text in segments:
        if position < offset + len(text):
            return at
        offset += len(text)
    return segments[-1][0] if segments else 0.0


@contextlib.contextmanager
def _exact_output():
    """Write the recorded bytes as they are: the recording already holds the carriage return the
    terminal put before each newline, so turn that translation (ONLCR) off while playing."""
    try:
        fd = sys.stdout.fileno()
        saved = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):
        yield
        return
    raw = list(saved)
    raw[1] &= ~termios.ONLCR
    try:
        termios.tcsetattr(fd, termios.TCSADRAIN, raw)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _controls_terminal() -> bool:
    """True when this shell leads the session of the terminal on stdin, as bash in a box does."""
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp() == os.getsid(0)
    except OSError:
        return False


def _as_foreground_job(play) -> int:
    """Play in a child process made the terminal's foreground process group, as bash runs a
    command: Ctrl-C reaches the playback alone, and the deck sees the box is busy (it has a child)."""
    child = os.fork()
    if child == 0:
        status = 1
        try:
            os.setpgid(0, 0)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            status = play()
        except KeyboardInterrupt:
            status = 130
        finally:
            os._exit(status)
    try:
        os.setpgid(child, child)
    except OSError:
        pass  # the child did it first
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(0, child)
        while True:
            try:
                _, status = os.waitpid(child, 0)
                break
            except KeyboardInterrupt:  # Ctrl-C arrived before the child took the terminal
                os.kill(child, signal.SIGINT)
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code
    finally:
        os.tcsetpgrp(0, os.getpgrp())
        signal.signal(signal.SIGTTOU, previous)


class ReplayShell:
    def __init__(self, recordings: Path, deck_path: Path = DECK, out=None):
        self.recordings, self.deck_path = recordings, deck_path
        self.write = out or (lambda text: os.write(sys.stdout.fileno(), text.encode("utf-8", "replace")))
        self.at_line_start = True  # the last thing printed ended a row
        self.boxes: dict[str, list[deck_reader.Box]] = {}
        for box in deck_reader.read(deck_path).boxes():
            if box.typed:
                self.boxes.setdefault(box.typed.strip(), []).append(box)
        self.status_file = os.environ.get("WORKSHOP_STATUS_FILE")
        self.chosen: dict[str, deck_reader.Box] = {}

    # -- what the student sees ------------------------------------------------------------------
    def out(self, text: str) -> None:
        if text:
            self.write(text)
            self.at_line_start = text.endswith("\n")

    def say(self, line: str) -> None:
        self.out(line + "\r\n")

    def shown(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(ROOT))
        except ValueError:
            return str(path)

    def set_status(self, status: int) -> None:
        """Like the workshop shell's PROMPT_COMMAND: the status, for the rehearsal engine and tests."""
        if self.status_file:
            try:
                with open(self.status_file, "w") as handle:
                    handle.write(f"{status}\n")
            except OSError:
                pass

    # -- one command line ---------------------------------------------------------------------------
    def slide_on_screen(self) -> int | None:
        """The slide the deck shows now (scripts/present publishes it), when it is this shell's deck."""
        now = live.read()
        return now.slide if now and now.deck.resolve() == self.deck_path.resolve() else None

    def which_box(self, command: str, boxes: list[deck_reader.Box]) -> deck_reader.Box:
        """The box whose recording to play. A command that several boxes share (the port-forward,
        the flood before and after scaling) plays the box of the slide on screen, the one whose Enter
        was pressed; where that slide has it twice, or no deck says which slide is shown, they play in
        deck order: the first shell to run it gets the first box, the next shell the second. A shell
        keeps the box it got."""
        if command in self.chosen:
            return self.chosen[command]
        recorded = [b for b in boxes if (self.recordings / cast_name(b)).exists()] or boxes
        if len(recorded) > 1:
            shown = self.slide_on_screen()  # the deck's state file, read once
            recorded = [b for b in recorded if b.slide == shown] or recorded
        box = recorded[0]
        session = os.environ.get("WORKSHOP_REPLAY_SESSION")
        if len(recorded) > 1 and session and os.path.isdir(session):
            key = hashlib.sha1(f"{box.slide} {command}".encode()).hexdigest()[:12]
            for turn in range(len(recorded)):
                try:
                    os.close(os.open(os.path.join(session, f"{key}-{turn}"), os.O_CREAT | os.O_EXCL))
                except FileExistsError:
                    continue
                box = recorded[turn]
                break
            else:
                box = recorded[-1]
        self.chosen[command] = box
        return box

    def handle(self, line: str) -> int:
        command = line.strip()
        if not command:
            return 0
        boxes = self.boxes.get(command)
        if not boxes:
            self.say(ONLY_LECTURE)
            return 127
        box = self.which_box(command, boxes)
        path = self.recordings / cast_name(box)
        if not path.exists():
            self.say(f"replay mode: there is no recording {self.shown(path)} yet (make it with scripts/record)")
            return 1
        try:
            _, events = recordings.load(path)
            plan = playback(events, box.directives.long_running, box.directives.ready)
        except recordings.CastError as error:
            reason = str(error).replace(str(path), "").strip(" :") or "unreadable"
            self.say(f"replay mode: cannot replay {self.shown(path)} ({reason}); refresh it with scripts/record")
            return 1
        return self.play(plan)

    def play(self, plan: Playback) -> int:
        with _exact_output():
            if not _controls_terminal():
                return self._play(plan)
            return _as_foreground_job(lambda: self._play(plan))

    def _play(self, plan: Playback) -> int:
        try:
            self._pieces(plan.before)
        except KeyboardInterrupt:
            self.out("\r\n")
            return 130
        if not plan.waits:
            return 0
        try:  # a server keeps running until Ctrl-C, as it did live
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.at_line_start = False  # the terminal echoed ^C on the current row
        try:
            self._pieces(plan.after)
        except KeyboardInterrupt:
            pass
        if not self.at_line_start:  # as a live shell: the next prompt starts a row of its own
            self.out("\r\n")
        return 130

    def _pieces(self, pieces: list[tuple[float, str]]) -> None:
        for pause, text in pieces:
            if pause > 0:
                time.sleep(pause)
            self.out(text)

    # -- the loop -----------------------------------------------------------------------------------
    def read_line(self) -> str | None:
        try:
            return input(PROMPT)
        except EOFError:
            return None

    def loop(self) -> int:
        while True:
            try:
                line = self.read_line()
            except KeyboardInterrupt:  # Ctrl-C at the prompt: a fresh prompt, as in bash
                self.out("^C\r\n")
                self.set_status(130)
                continue
            if line is None:
                self.say("exit")
                return 0
            if line.strip() in ("exit", "logout"):
                return 0
            self.set_status(self.handle(line))


def main() -> int:
    folder = os.environ.get("WORKSHOP_REPLAY", "").strip()
    if not folder:
        print("replay_shell: WORKSHOP_REPLAY must name the folder of recordings", file=sys.stderr)
        return 2
    for name in ("SIGTSTP", "SIGQUIT"):  # like an interactive bash: Ctrl-Z and Ctrl-\ do nothing
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    try:
        import readline  # noqa: F401  line editing (arrows, backspace) as in bash
    except ImportError:
        pass
    deck_path = Path(os.environ.get("WORKSHOP_REPLAY_DECK") or DECK)
    try:
        shell = ReplayShell(Path(folder), deck_path)
    except deck_reader.DeckError as error:
        print(f"replay mode: {error}", file=sys.stderr)
        return 2
    return shell.loop()


if __name__ == "__main__":
    sys.exit(main())
