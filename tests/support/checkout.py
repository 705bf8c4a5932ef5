"""The deck's two edited manifests as the lanes beside the machine lane must read them."""

import subprocess
from pathlib import Path

from workshop.paths import ROOT
from workshop.rehearsal import needs


def as_committed(path: Path) -> str:
    """PATH's text; for a file the deck's own boxes edit (needs.EDITED_FILES), its committed text while it
    holds the deck's edit. The machine lane runs those boxes on this checkout (k8s_demo/ok-worker.yaml at
    3 replicas from the scaling slide to the recap) while the bare and class lanes read the same files."""
    text = path.read_text()
    for edited in needs.EDITED_FILES:
        if path.resolve() != (ROOT / edited.path).resolve() or edited.value.findall(text) == [edited.committed]:
            continue
        shown = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"HEAD:{edited.path}"], capture_output=True, text=True, timeout=30
        )
        if shown.returncode == 0:
            return shown.stdout
    return text
