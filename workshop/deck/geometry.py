"""How lookatme 2.5.5 lays a slide out on the screen: the smallest screen the deck is made for,
and how wide it draws a terminal box's inside (screen less margins, padding and two borders)."""

MIN_COLS, MIN_ROWS = 120, 40


def box_columns(meta: dict, screen_cols: int = MIN_COLS) -> int:
    """How wide lookatme draws a terminal box's inside on a screen this wide."""
    styles = meta.get("styles") or {}
    margin = {"left": 2, "right": 2, **(styles.get("margin") or {})}
    padding = {"left": 10, "right": 10, **(styles.get("padding") or {})}
    return screen_cols - margin["left"] - margin["right"] - padding["left"] - padding["right"] - 2
