"""Where things live: the repository and the folder the workshop writes to at run time."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DECK = ROOT / "slides.md"
# Everything generated at run time (kubeconfig, logs, reports) goes here; git ignores it.
STATE = Path(os.environ.get("WORKSHOP_STATE") or ROOT / ".workshop")   # tests point it elsewhere
KUBECONFIG = STATE / "kubeconfig"
LOGS = STATE / "logs"


def state_dir(*parts: str) -> Path:
    """A folder under .workshop/, created on first use."""
    path = STATE.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
