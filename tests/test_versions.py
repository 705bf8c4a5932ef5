"""The workshop's Kubernetes minor is written once, in the kind node recipe's src/kubernetes/go.mod:
the code reads it from there, and what must spell it out (a pip pin, kind's upstream node image, the
docs' prose) is found here, so a new Kubernetes makes this test list every place still naming the old."""

import re

from workshop.cluster import kind, node_build
from workshop.paths import ROOT

# Places that name a Kubernetes minor on purpose, not as the workshop's: (file, minor, why)
HISTORY = {("docs/machine.md", "1.35")}  # the release from which the kubelet refuses cgroup v1
SPELLED = [
    r"Kubernetes v?(1\.\d+)",
    r"kubernetes-validate==(1\.\d+)",
    r"kindest/node:v(1\.\d+)",
    r"(1\.\d+) schema",
]
FILES = ["README.md", "k8s_demo/README.md", "requirements/dev.txt", "workshop/cluster/kind.py"]


def places() -> list[tuple[str, int, str]]:
    found = []
    for name in FILES + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")):
        for number, line in enumerate((ROOT / name).read_text().splitlines(), 1):
            for pattern in SPELLED:
                found += [(name, number, minor) for minor in re.findall(pattern, line)]
    return found


def test_the_code_reads_the_minor_from_the_recipe():
    minor = node_build.kubernetes_minor()
    assert re.fullmatch(r"1\.\d+", minor) and node_build.kubernetes_version().startswith(f"v{minor}.")
    assert kind.UPSTREAM_IMAGE.startswith(f"kindest/node:v{minor}.")


def test_every_place_that_spells_out_the_minor_names_the_recipes():
    minor = node_build.kubernetes_minor()
    found = places()
    # the pin's neighbours, the upstream image and the release notes spell it: the search must find them
    assert {"workshop/cluster/kind.py", "docs/kubernetes-releases.md", "k8s_demo/README.md"} <= {n for n, _, _ in found}
    stale = [(name, number, seen) for name, number, seen in found if seen != minor and (name, seen) not in HISTORY]
    assert stale == [], f"these still name another Kubernetes than {minor}: {stale}"
