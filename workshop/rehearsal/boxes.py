"""The ids of the deck's boxes that the code points at: a hint names the slide of the box with that
id (`[rehearse]: # "id: NAME"` under it), found in the deck, so hints follow the decks and never
depend on a box's text or place. Which boxes start, complete or may be passed over in a student
step is said in the deck too (`step:` directives), not here."""

from workshop.names import APP_IMAGE

MISSING_TAG = f"{APP_IMAGE}:v3"  # the tag the broken rollout asks for; it is never pushed

SERVER = "server"
BUILD_DEB = "build-deb"
BUILD_PY = "build-py"
CONTAINER = "run-container"
IMAGE_ARCH = "image-arch"
APPLY = "apply"
WORKER_LIMITS = "worker-limits"
SPREAD = "spread"
DELETE_POD = "delete-pod"
SCALE_EDIT = "scale-edit"
SET_V2 = "set-v2"
UNDO = "undo"
SET_V3 = "set-v3"
REPAIR = "repair"
DRAIN = "drain"
UNCORDON = "uncordon"
TYPO_APPLY = "typo-apply"
TYPO_DIFF = "typo-diff"
