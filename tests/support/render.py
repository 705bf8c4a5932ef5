"""Render every slide of the deck through lookatme's own TUI, in-process, with no terminal.

lookatme has no export mode; this builds its real MarkdownTui (whose screen is never
started) and renders each slide to a canvas, as the main loop would. Some failures never
raise: lookatme draws an error text instead, so callers also look for ERROR_TEXTS.
"""

import select
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EXTENSIONS = ("terminal", "file_loader")
# What lookatme (or expect inside a box) shows instead of raising.
ERROR_TEXTS = (
    "File not found",
    "No such file or directory",
    "invalid command name",
    "can't read \"",
    "Error rendering slide",
    "Traceback (most recent call last)",
)


@dataclass
class RenderedSlide:
    number: int  # 1-based
    error: BaseException | None
    screen: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.screen)

    def problems(self) -> list[str]:
        if self.error is not None:
            return [f"{type(self.error).__name__}: {self.error}"]
        return [f"shows {needle!r}" for needle in ERROR_TEXTS if needle in self.text]


def _pump_terminals(seconds: float) -> None:
    """Let the boxes' shells print, as lookatme's main loop would."""
    import lookatme.contrib.terminal as terminal_ext

    end = time.time() + seconds
    while time.time() < end:
        live = [t for t in terminal_ext.CREATED_TERMS if t.pid and not t.terminated]
        if not live:
            return
        ready, _, _ = select.select([t.master for t in live], [], [], 0.05)
        for term in live:
            if term.master in ready:
                term.feed()


def render_deck(
    path: Path,
    cols: int = 120,
    rows: int = 40,
    pump: float = 0.0,
    extensions: Sequence[str] = EXTENSIONS,
    only: Sequence[int] | None = None,
) -> list[RenderedSlide]:
    """Render each slide (or the 1-based numbers in `only`) at cols x rows; with pump > 0, give
    the live boxes that many seconds to start and draw."""
    import lookatme.config
    import lookatme.contrib
    import lookatme.log
    import lookatme.tui
    from lookatme.pres import Presentation

    lookatme.config.LOG = lookatme.log.create_null_log()
    with open(path, encoding="utf-8") as handle:  # preloaded extensions count as approved: no Y/N prompt
        pres = Presentation(handle, "dark", None, preload_extensions=list(extensions))
    failed_start, tui = {}, None
    for start in range(len(pres.slides)):  # create_tui renders its start slide eagerly
        try:
            tui = lookatme.tui.create_tui(pres, start_slide=start)
            break
        except Exception as error:  # noqa: BLE001 - reported per slide below
            failed_start[start] = error
    results = []
    try:
        for slide in pres.slides:
            if only is not None and slide.number + 1 not in only:
                continue
            if slide.number in failed_start:
                results.append(RenderedSlide(slide.number + 1, failed_start[slide.number], []))
                continue
            assert tui is not None  # else every slide failed to start, and is in failed_start
            try:
                tui.curr_slide = slide
                tui.update()
                canvas = tui.loop.widget.render((cols, rows), focus=False)
                if pump:
                    _pump_terminals(pump)
                    canvas = tui.loop.widget.render((cols, rows), focus=False)
                screen = [line.decode("utf-8", "replace").rstrip() for line in canvas.text]
                results.append(RenderedSlide(slide.number + 1, None, screen))
            except Exception as error:  # noqa: BLE001 - a broken slide is a result
                results.append(RenderedSlide(slide.number + 1, error, []))
    finally:
        if tui is not None:
            tui.slide_renderer.stop()
        lookatme.contrib.shutdown_contribs()
    return results
