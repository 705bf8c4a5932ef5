"""The deck's boxes that the student checks, catch-up and the class view point at, by the command each
box types (a prefix of it): hints name the slide of the box found this way, so they follow the decks."""

from collections.abc import Callable
from typing import NamedTuple

from workshop.names import APP_IMAGE, DEB_IMAGE, PY_IMAGE

MISSING_TAG = f"{APP_IMAGE}:v3"  # the tag the broken rollout asks for; it is never pushed

# the commands, as typed in the deck's boxes, that each hint points to
SERVER_BOX = "python docker_demo/server.py"
DEB_BOX = f"docker build -t {DEB_IMAGE}"
PY_BOX = f"docker build -q -t {PY_IMAGE}"
CONTAINER_BOX = "docker run -it --rm --name workshop-demo"
ARCH_BOX = "docker image inspect --format 'image: {{.Os}}/{{.Architecture}}'"
APPLY_BOX = "kubectl apply -f k8s_demo/redis.yaml"
DEPLOYED_BOX = "kubectl wait --for=condition=Available deployment --all"
LIMITS_BOX = "kubectl exec deploy/ok-worker -- sh -c"
SERVICE_BOX = "kubectl exec deploy/ok-worker -- python -m okpy_mini.spread ok-web 20"
DELETE_POD_BOX = "kubectl delete $(kubectl get pods -l app=ok-web"
SCALE_BOX = "sed -i 's/^  replicas: 1$/  replicas: 3/' k8s_demo/ok-worker.yaml"
SCALE_APPLY_BOX = "kubectl apply -f k8s_demo/ok-worker.yaml"
SET_IMAGE_BOX = f"kubectl set image deploy/ok-web web={APP_IMAGE}:v2"
ROLLED_OUT_BOX = "kubectl rollout status deploy/ok-web"  # the first such box of a deck follows SET_IMAGE_BOX
UNDO_BOX = "kubectl rollout undo deploy/ok-web"
BROKEN_BOX = f"kubectl set image deploy/ok-web web={MISSING_TAG}"
REPAIR_BOX = "kubectl apply -f k8s_demo/ok-web.yaml && kubectl rollout status deploy/ok-web --timeout=2m"
DRAIN_BOX = "kubectl drain "
UNCORDON_BOX = "kubectl uncordon workshop-worker"
HEALED_BOX = "kubectl wait --for=condition=Ready pods -l app=ok-web"


class Step(NamedTuple):
    """One student check, and where the deck does it: the first box of the step (the check must fail
    before it), the box after which it works, and the box or boxes catch-up passes over when the check
    already passes (None: catch-up always runs the step's boxes)."""

    what: str
    run: Callable[[], str]
    first: str
    last: str
    skip: str | tuple[str, ...] | None = None

    @property
    def passed_over(self) -> tuple[str, ...]:
        """The commands of the boxes catch-up passes over when the check passes."""
        return (self.skip,) if isinstance(self.skip, str) else tuple(self.skip or ())
