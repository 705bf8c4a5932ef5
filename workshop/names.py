"""Every name the workshop gives to things outside this repository, in one place: labels,
container and image names, the cluster context, ports and addresses. Nothing here proves
that a thing is the workshop's (a name can be copied, a label inherited): what the workshop
made is recorded when it makes it."""

import os

# The workshop shell's prompt (scripts/lib/workshop.bashrc sets the same one).
PROMPT = "workshop$ "

# Docker labels: stand-in base images carry LABEL=STANDIN and their recipe's hash.
LABEL = "edu.cs198.workshop"
STANDIN = "standin"
RECIPE_LABEL = "edu.cs198.workshop.recipe"
# a token recorded before a container is started, and given to it: proof the workshop started it
RUN_LABEL = "edu.cs198.workshop.run"

# Kubernetes: every object of the lecture's app carries this label.
PART_OF = "app.kubernetes.io/part-of=cs198-workshop"
# The context of .workshop/kubeconfig, whatever the provider, and the namespace it points at:
# the deck's objects live there, and reset deletes there only.
CONTEXT = "workshop"


def namespace() -> str:
    """The lecture's namespace: WORKSHOP_NAMESPACE (tests set it), or cs198-workshop; read at each call."""
    return os.environ.get("WORKSHOP_NAMESPACE") or "cs198-workshop"


# kind: the cluster's name, and the label kind puts on its node containers.
KIND_CLUSTER = "workshop"
KIND_LABEL = "io.x-k8s.kind.cluster"

# The local image registry, as the deck and the manifests address it.
REGISTRY_HOST = "127.0.0.1"
REGISTRY_PORT = 5001
REGISTRY = f"localhost:{REGISTRY_PORT}"
REGISTRY_CONTAINER = "workshop-registry"

# The base images the Dockerfiles and manifests name.
# Each names its Debian release (13, trixie): a plain tag such as python:3.12-slim moves to the next
# release when Debian has one (it went from 12 to 13 in 2025).
DEBIAN_IMAGE = "debian:trixie-slim"
PYTHON_IMAGE = "python:3.12-slim-trixie"
REDIS_IMAGE = "redis:8.10.2-trixie"
# The base of the kind node image built where kindest/node cannot be pulled (its packages are pinned
# bookworm versions, see provision/kind_node/files/base-packages.txt); no slide shows it.
KIND_NODE_BASE = "debian:bookworm-slim"

# What the deck builds and deploys.
DEB_IMAGE = "workshop-demo-deb:1.0"
PY_IMAGE = "workshop-demo-py:1.0"
APP_IMAGE = f"{REGISTRY}/okpy-mini"
APP_REPOSITORY = "okpy-mini"

# Host ports the deck's boxes listen on: the host server, the container, kubectl port-forward.
LECTURE_PORTS = (3000, 8000, 8080)
