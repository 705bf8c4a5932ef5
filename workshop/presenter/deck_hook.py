"""lookatme 2.5.5, run in this process with these additions: every slide it puts on screen is
published for the notes view (live.Publisher); a window shrunk below the deck's size gets one line
on top that says so; and the boxes follow the rule of presenter/boxes.py (Ctrl-C to what a slide's
boxes still run when the presenter leaves it and every command typed again, the focus at a slide's
top when it comes on, nothing left running when the deck ends, a box that hides its cursor no
longer aborts the deck). Otherwise the audience's screen is lookatme's own.

lookatme draws a slide through MarkdownTui.update() (at start, on every slide change, on reload);
pres.run() builds its TUI through lookatme.tui.create_tui, which is where the hook goes in."""

import os
import signal
from collections.abc import Sequence
from pathlib import Path

import lookatme.__main__
import lookatme.contrib.terminal
import lookatme.tui
import urwid

from workshop.deck import reader
from workshop.deck.geometry import MIN_COLS, MIN_ROWS
from workshop.deck.reader import Deck
from workshop.presenter import boxes
from workshop.presenter.live import Publisher


def too_small(cols: int, rows: int) -> str:
    return (
        f"this window is {cols}x{rows}; the deck is made for {MIN_COLS}x{MIN_ROWS}: enlarge it or make the font smaller"
    )


def _publishing_tui(publisher: Publisher, keeper: boxes.Keeper | None = None):
    class PublishingTui(lookatme.tui.MarkdownTui):
        def update(self):
            shown = self.curr_slide.number + 1
            if keeper is not None and publisher.current is not None and publisher.current != shown:
                keeper.leave(publisher.current)
            publisher.show(shown, len(self.pres.slides))
            super().update()
            if self.slide_body.body:  # the focus at the top: Down gives the keys to the slide's first box
                self.slide_body.set_focus(0, coming_from="above")

        def render(self, size, focus=False):
            """A window shrunk below the deck's size keeps the deck, with one line on top saying so."""
            cols, rows = size
            try:
                screen = self.loop.screen.get_cols_rows()  # the window, not the deck's inner area
            except (AttributeError, OSError):
                screen = size
            if (screen[0] >= MIN_COLS and screen[1] >= MIN_ROWS) or rows < 2:
                return super().render(size, focus)
            line = urwid.Text(too_small(*screen), wrap="clip").render((cols,))
            return urwid.CanvasCombine([(line, None, False), (super().render((cols, rows - 1), focus), None, True)])

    def create_tui(pres, start_slide=0):
        return PublishingTui(pres, start_slide)

    return create_tui


def _track_terminals(keeper: boxes.Keeper) -> None:
    """Tell the keeper which terminals each slide made: lookatme renders slides one at a time, in
    its one renderer thread, and appends every terminal it makes to CREATED_TERMS."""
    renderer = lookatme.tui.SlideRenderer
    original = getattr(renderer.do_render, "original", renderer.do_render)

    def do_render(self, to_render, slide_num):
        done = self.cache.get(slide_num)
        if done is not None and not isinstance(done, Exception):
            # lookatme queues every slide at start (prep_pres), and queues a slide again when it is shown
            # before its turn came; the second render would make new terminals and show them on the
            # slide's next visit, while the first ones (a server the presenter started) run on unseen.
            # A slide rendered since the last flush (a reload clears the cache) keeps its render.
            return done
        before = len(lookatme.contrib.terminal.CREATED_TERMS)
        result = original(self, to_render, slide_num)
        keeper.rendered(slide_num, lookatme.contrib.terminal.CREATED_TERMS[before:])
        return result

    do_render.original = original  # type: ignore[attr-defined]  # a function attribute: mypy models none (python/mypy#2087)
    renderer.do_render = do_render

    shutdown = getattr(lookatme.contrib.terminal.shutdown, "original", lookatme.contrib.terminal.shutdown)

    def shutdown_terminals():
        keeper.stop_all()  # Ctrl-C first, so `docker run -it --rm` removes its container
        shutdown()

    shutdown_terminals.original = shutdown  # type: ignore[attr-defined]  # a function attribute: mypy models none (python/mypy#2087)
    lookatme.contrib.terminal.shutdown = shutdown_terminals


def install(deck: Path, state: Path | None = None, keeper: boxes.Keeper | None = None) -> Publisher:
    """From now on, every TUI lookatme builds publishes its slides (and, with a keeper, its
    boxes follow the keeper's rule); returns the publisher."""
    publisher = Publisher(deck, state)
    boxes.repair_cursor()
    boxes.repair_window_size()
    if keeper is not None:
        _track_terminals(keeper)
    lookatme.tui.create_tui = _publishing_tui(publisher, keeper)
    return publisher


def _on_signal(keeper: boxes.Keeper):
    def handler(number, _frame):
        """The window closed (SIGHUP) or someone ended the deck (SIGTERM): nothing may outlive it."""
        keeper.stop_all()
        lookatme.contrib.terminal.shutdown.original()
        if number == signal.SIGHUP:  # no terminal left to restore
            os._exit(128 + number)
        raise urwid.ExitMainLoop()

    return handler


def present(
    deck: Path,
    lookatme_args: Sequence[str],
    engine_answers: bool = False,
    read: Deck | None = None,
    containers_before: set[str] | None = None,
) -> int:
    """Run lookatme's own command line with these arguments, as `lookatme ARGS...` would (`read`: the deck
    already read, so the start does not read it twice; containers_before: the engine's containers, when
    already looked up)."""
    keeper = boxes.Keeper(read or reader.read(deck))
    if engine_answers:  # which containers were there before the deck
        keeper.snapshot_containers(containers_before)
    publisher = install(deck, keeper=keeper)
    for number in (signal.SIGHUP, signal.SIGTERM):
        signal.signal(number, _on_signal(keeper))
    try:
        lookatme.__main__.main.main(args=list(lookatme_args), prog_name="lookatme")  # exits, as lookatme does
    finally:
        keeper.stop_all()  # however lookatme ended
        publisher.close()
    return 0
