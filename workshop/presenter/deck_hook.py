"""lookatme 2.5.5, run in this process with one addition: every slide it puts on screen is
published for the notes view (live.Publisher). The audience's screen is lookatme's own.

lookatme draws a slide through MarkdownTui.update() (at start, on every slide change, on reload);
pres.run() builds its TUI through lookatme.tui.create_tui, which is where the hook goes in."""
from pathlib import Path
from typing import Optional, Sequence

import lookatme.__main__
import lookatme.tui

from workshop.presenter.live import Publisher


def _publishing_tui(publisher: Publisher):
    class PublishingTui(lookatme.tui.MarkdownTui):
        def update(self):
            publisher.show(self.curr_slide.number + 1, len(self.pres.slides))
            super().update()

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
