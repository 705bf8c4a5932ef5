"""Where things live: the repository and the folder the workshop writes to at run time."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DECK = ROOT / "slides.md"
EXTRAS = ROOT / "extras.md"  # what does not fit the lecture's slot: a second session
DECKS = (DECK, EXTRAS)  # the workshop's decks, in order: the one list code, tests and the docs' test read
RECORDINGS = ROOT / "recordings"


def is_lecture(deck_path: Path) -> bool:
    """Is this the lecture's own deck (slides.md), rather than the extras or another?"""
    return Path(deck_path).resolve() == DECK.resolve()


def recordings_for(deck_path: Path) -> Path:
    """Where a deck's recordings live: recordings/ for slides.md, recordings/<stem>/ for another deck."""
    return RECORDINGS if is_lecture(deck_path) else RECORDINGS / Path(deck_path).stem


# Everything generated at run time (kubeconfig, logs, reports) goes under state(); git ignores it.
# Each is read when asked, never frozen at import: WORKSHOP_STATE set later (tests do) is obeyed.


def state() -> Path:
    """The folder the workshop writes to: WORKSHOP_STATE, or .workshop/ in the checkout."""
    return Path(os.environ.get("WORKSHOP_STATE") or ROOT / ".workshop")


def kubeconfig() -> Path:
    """The workshop's own kubeconfig."""
    return state() / "kubeconfig"


def kubeconfig_copies() -> tuple[Path, Path]:
    """The copies the workshop shell gives kubectl (scripts/lib/workshop.bashrc, scripts/shell-bin/kubectl)."""
    return state() / "kubeconfig.fenced", state() / "kubectl-home"


def logs() -> Path:
    return state() / "logs"


def state_dir(*parts: str) -> Path:
    """A folder under .workshop/, created on first use."""
    path = state().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (credentials): 0600 from the moment it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # a file that was already there keeps no wider mode
        handle.write(text)
