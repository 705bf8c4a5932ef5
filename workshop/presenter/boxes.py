"""The life of a live box in the deck, one rule for the presenter, the rehearsals and catch-up:

- a box's shell starts when its slide is first shown (lookatme's own rule);
- when the presenter leaves a slide, whatever its boxes are still running gets Ctrl-C, as a
  presenter would press it, and every box whose command ran gets it typed again at its fresh
  prompt, below what it printed: a slide given again (the class asks to see it once more) looks
  as it did the first time, each box's command ready for Enter (a server, a port-forward,
  `docker run -it`, or a plain command);
- a slide comes on screen with the focus at its top, so Down gives the keys to its first box,
  however the presenter left it (deck_hook.py);
- when the deck ends (q, a closed window, SIGTERM), every box's command gets Ctrl-C, then every
  process its boxes started is stopped, and every container they named and created is removed.

And two repairs of urwid 2.1.2 (lookatme's pinned urwid). Its window-size query passes a 4-byte buffer
for the 8-byte answer, which Python 3.14 refuses ("Error rendering slide 1: buffer overflow"): it now
passes 8 bytes. And a box whose program hides the cursor
(`ESC [?25l`, BuildKit's progress display) while it has the focus made urwid's ListBox abort the
deck ("calculated cursor coords (1, 3) but rendered cursor coords None!"): the Terminal widget
reported a cursor position that its canvas did not draw. It now reports what its canvas draws.
"""

import fcntl
import os
import struct
import termios
import threading
import time
from collections.abc import Callable

import psutil
import urwid

from workshop.deck.docker_commands import container_names
from workshop.deck.reader import Box, Deck
from workshop.machine import processes
from workshop.names import PROMPT
from workshop.rehearsal import cleanup

CTRL_C = b"\x03"
STOP_WAIT = 8.0  # seconds a box's command gets to end after Ctrl-C before it is killed
SESSION_VARIABLE = "WORKSHOP_DECK_SESSION"  # set in the deck's environment; every box inherits it


# ------------------------------------------------------------------ urwid 2.1.2's cursor, repaired
def _drawn_cursor(original: Callable) -> Callable:
    def get_cursor_coords(self, size):
        """Where the canvas will draw the cursor, or None when it draws none (hidden or scrolled away)."""
        coords = original(self, size)
        term = self.term
        if coords is None or term is None or not term.modes.visible_cursor:
            return None
        x, y = coords
        if term.scrolling_up >= term.height - y:
            return None
        return x, y + term.scrolling_up

    get_cursor_coords.repaired = True  # type: ignore[attr-defined]  # a function attribute: mypy models none (python/mypy#2087)
    return get_cursor_coords


def repair_cursor() -> None:
    """Make urwid.Terminal.get_cursor_coords agree with what Terminal.render draws (idempotent)."""
    current = urwid.Terminal.get_cursor_coords
    if not getattr(current, "repaired", False):
        urwid.Terminal.get_cursor_coords = _drawn_cursor(current)


# ------------------------------------------------------------------ urwid 2.1.2's window size, repaired
def _window_size(self):
    """The terminal's size (columns, rows), as urwid's raw_display.Screen.get_cols_rows: urwid 2.1.2
    asks TIOCGWINSZ with a 4-byte buffer for an 8-byte struct winsize, which Python 3.14's
    fcntl.ioctl rejects (SystemError: buffer overflow) on the deck's first slide."""
    rows, cols = 24, 80
    try:
        if hasattr(self._term_output_file, "fileno"):
            rows, cols, _, _ = struct.unpack(
                "hhhh", fcntl.ioctl(self._term_output_file.fileno(), termios.TIOCGWINSZ, bytes(8))
            )
    except OSError:
        pass
    self.maxrow = rows
    return cols, rows


def repair_window_size() -> None:
    """Give urwid's raw_display.Screen a get_cols_rows that works on every Python (idempotent)."""
    import urwid.raw_display

    urwid.raw_display.Screen.get_cols_rows = _window_size


# ------------------------------------------------------------------ what runs in a box
def shell_of(term) -> psutil.Process | None:
    """The box's shell: lookatme runs `expect ... spawn scripts/workshop-shell` (or the shell alone)."""
    if getattr(term, "pid", None) in (None, 0) or getattr(term, "terminated", False):
        return None
    try:
        process = psutil.Process(term.pid)
        if process.name() == "expect":
            children = process.children()
            return children[0] if children else None
        return process
    except psutil.Error:
        return None


def busy(shell: psutil.Process | None) -> bool:
    """True when the shell runs a command: it has a live child (bash forks one for every command it
    does not run itself, and the replay shell plays in a child). Works wherever psutil does."""
    if shell is None:
        return False
    try:
        return any(child.status() != psutil.STATUS_ZOMBIE for child in shell.children())
    except psutil.Error:
        return False


def input_line(term) -> str | None:
    """What the box's cursor row holds up to the cursor (its prompt and whatever is typed after it),
    read from the terminal's own screen; None before the box has drawn anything."""
    canvas = getattr(term, "term", None)
    if canvas is None or not hasattr(canvas, "term_cursor"):
        return None
    x, y = canvas.term_cursor
    try:
        return b"".join(cell[2] or b" " for cell in canvas.term[y][:x]).decode("utf-8", "replace")
    except (IndexError, TypeError):
        return None


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root] + root.children(recursive=True)
    except psutil.Error:
        return []


class Keeper:
    """Knows which of lookatme's terminals belong to which slide and box, and applies the rule."""

    def __init__(self, deck: Deck, type_after_stop: bool = True):
        self.deck = deck
        self.type_after_stop = type_after_stop
        self.terms: dict[int, list] = {}  # slide number (1-based) -> its terminals, in order
        # this deck's own mark, even when started from a box of another deck (never inherit it)
        self.session = os.environ[SESSION_VARIABLE] = f"{os.getpid()}-{time.time():.0f}"
        self.names: set[str] = set(container_names(box.typed or "" for box in deck.boxes()))
        self.containers_before: set[str] | None = None
        self.stopped = False
        self._threads: list[threading.Thread] = []

    # -- bookkeeping ---------------------------------------------------------------------------
    def rendered(self, slide_index: int, terms: list) -> None:
        """lookatme made these terminals while rendering the slide at slide_index (0-based)."""
        if terms:
            self.terms[slide_index + 1] = list(terms)

    def box(self, slide: int, index: int) -> Box | None:
        """The box of the index-th terminal lookatme made for this slide. lookatme 2.5.5 makes each
        slide's terminals more than once (only the ones it shows ever start), always in deck order."""
        try:
            boxes = self.deck.slide(slide).boxes
            return boxes[index % len(boxes)] if boxes else None
        except IndexError:
            return None

    def snapshot_containers(self, known: set[str] | None) -> None:
        """The containers there before the deck, when the deck names any: as present looked them up while
        lookatme loaded, or, when the engine did not list them then (a busy engine), asked once more. Without
        this list the deck removes no container at its end, since it could not tell its own from the user's."""
        if not self.names:
            self.containers_before = set()
        else:
            self.containers_before = known if known is not None else cleanup.container_ids(timeout=30)

    # -- leaving a slide -----------------------------------------------------------------------
    def leave(self, slide: int) -> list[int]:
        """The presenter left this slide: Ctrl-C every box still running a command, and type every box's
        command again where it has run; returns the positions of the boxes that were stopped."""
        stopped = []
        for position, term in enumerate(self.terms.get(slide, [])):
            box = self.box(slide, position)
            typed = (box.typed or "") if box is not None and self.type_after_stop else ""
            if busy(shell_of(term)):
                self._write(term, CTRL_C)
                stopped.append(position)
                if typed:
                    self._type_when_idle(term, typed)
            elif typed and input_line(term) == PROMPT:  # it ran and ended: a bare prompt waits
                self._write(term, typed.encode("utf-8"))
        return stopped

    def _type_when_idle(self, term, text: str) -> None:
        def wait_then_type():
            deadline = time.monotonic() + STOP_WAIT
            shell = shell_of(term)
            while busy(shell) and time.monotonic() < deadline and not self.stopped:
                time.sleep(0.1)
            if not busy(shell) and not self.stopped:
                time.sleep(0.2)  # the shell prints its prompt, then reads
                self._write(term, text.encode("utf-8"))

        thread = threading.Thread(target=wait_then_type, daemon=True)
        thread.start()
        self._threads.append(thread)

    @staticmethod
    def _write(term, data: bytes) -> None:
        try:
            if not term.terminated and term.master is not None:
                os.write(term.master, data)
        except OSError:
            pass

    # -- the end of the deck -------------------------------------------------------------------
    def all_terms(self) -> list:
        return [term for terms in self.terms.values() for term in terms]

    def stop_all(self) -> None:
        """Ctrl-C every running command, then stop every process of every box and remove the
        containers the boxes named and created. Safe to call more than once."""
        if self.stopped:
            return
        self.stopped = True
        terms = [term for term in self.all_terms() if getattr(term, "pid", None)]
        for term in terms:
            if busy(shell_of(term)):
                self._write(term, CTRL_C)
        deadline = time.monotonic() + STOP_WAIT
        while any(busy(shell_of(term)) for term in terms) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = {p.pid: p for term in terms for p in tree(term.pid)}
        left.update({p.pid: p for p in self.tagged()})
        left.pop(os.getpid(), None)
        processes.kill(list(left))
        self.remove_containers()

    def tagged(self) -> list[psutil.Process]:
        """Processes that carry this deck's session in their environment (the boxes and all they started)."""
        found = []
        for pid in processes.with_environment(SESSION_VARIABLE, self.session):
            try:
                found.append(psutil.Process(pid))
            except psutil.Error:
                continue
        return found

    def remove_containers(self) -> None:
        cleanup.remove_created(self.containers_before, self.names)
