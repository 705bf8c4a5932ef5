"""lookatme 2.5.5, run in this process with two additions: every slide it puts on screen is
published for the notes view (live.Publisher), and a window shrunk below the deck's size gets one
line on top that says so. Otherwise the audience's screen is lookatme's own.

lookatme draws a slide through MarkdownTui.update() (at start, on every slide change, on reload);
pres.run() builds its TUI through lookatme.tui.create_tui, which is where the hook goes in."""
from pathlib import Path
from typing import Optional, Sequence

import lookatme.__main__
import lookatme.tui
import urwid

from workshop.deck.geometry import MIN_COLS, MIN_ROWS
from workshop.presenter.live import Publisher


def too_small(cols: int, rows: int) -> str:
    return (f"this window is {cols}x{rows}; the deck is made for {MIN_COLS}x{MIN_ROWS}: "
            f"enlarge it or make the font smaller")


def _publishing_tui(publisher: Publisher):
    class PublishingTui(lookatme.tui.MarkdownTui):
        def update(self):
            publisher.show(self.curr_slide.number + 1, len(self.pres.slides))
            super().update()

        def render(self, size, focus=False):
            """A window shrunk below the deck's size keeps the deck, with one line on top saying so."""
            cols, rows = size
            try:
                screen = self.loop.screen.get_cols_rows()       # the window, not the deck's inner area
            except (AttributeError, OSError):
                screen = size
            if (screen[0] >= MIN_COLS and screen[1] >= MIN_ROWS) or rows < 2:
                return super().render(size, focus)
            line = urwid.Text(too_small(*screen), wrap="clip").render((cols,))
            return urwid.CanvasCombine([(line, None, False), (super().render((cols, rows - 1), focus), None, True)])

    def create_tui(pres, start_slide=0):
        return PublishingTui(pres, start_slide)

    return create_tui


def install(deck: Path, state: Optional[Path] = None) -> Publisher:
    """From now on, every TUI lookatme builds publishes its slides; returns the publisher."""
    publisher = Publisher(deck, state)
    lookatme.tui.create_tui = _publishing_tui(publisher)
    return publisher


def present(deck: Path, lookatme_args: Sequence[str]) -> int:
    """Run lookatme's own command line with these arguments, as `lookatme ARGS...` would."""
    publisher = install(deck)
    try:
        lookatme.__main__.main.main(args=list(lookatme_args), prog_name="lookatme")   # exits, as lookatme does
    finally:
        publisher.close()
    return 0
