"""The versions the lecture runs are written once, in versions.env: the code and the basement read them
from there, the files that must spell a version out themselves (the Kubernetes go.mod, the pinned
.debs, the CLI's go.mod) agree with it, and what else names the Kubernetes minor (a pip pin, the docs'
prose) is found here, so a new Kubernetes makes this test list every place still naming the old."""

import re

from provision import engine_install, node_build
from workshop import versions
from workshop.cluster import kind
from workshop.paths import ROOT

# Places that name a Kubernetes minor on purpose, not as the workshop's: (file, minor, why)
HISTORY = {("docs/machine.md", "1.35")}  # the release from which the kubelet refuses cgroup v1
SPELLED = [
    r"Kubernetes v?(1\.\d+)",
    r"kubernetes-validate==(1\.\d+)",
    r"kindest/node:v(1\.\d+)",
    r"(1\.\d+) schema",
]
FILES = ["README.md", "k8s_demo/README.md", "requirements/dev.txt", "versions.env"]


def places() -> list[tuple[str, int, str]]:
    found = []
    for name in FILES + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")):
        for number, line in enumerate((ROOT / name).read_text().splitlines(), 1):
            for pattern in SPELLED:
                found += [(name, number, minor) for minor in re.findall(pattern, line)]
    return found


def test_the_files_that_spell_a_version_agree_with_versions_env():
    kubernetes = node_build.required_version(node_build.SOURCES / "kubernetes", "k8s.io/kubernetes")
    assert kubernetes == versions.kubernetes_version()
    debs = {deb.package: deb.version for deb in engine_install.pinned_debs()}
    assert debs["docker.io"].split("+")[0] == versions.docker_engine_version()
    assert debs["kind"].split("-")[0] == versions.kind_version().lstrip("v")
    cli = (engine_install.STACK / "cli" / "go.mod").read_text()
    assert f"github.com/docker/cli v{versions.docker_cli_version()}+incompatible" in cli
    assert versions.docker_api_min() >= (1, 44) and versions.local_node_image().startswith("workshop-kind/node:")


def test_the_code_reads_the_minor_from_versions_env():
    minor = versions.kubernetes_minor()
    assert re.fullmatch(r"1\.\d+", minor) and versions.kubernetes_version().startswith(f"v{minor}.")
    assert kind.UPSTREAM_IMAGE.startswith(f"kindest/node:v{minor}.")


def test_every_place_that_spells_out_the_minor_names_the_recipes():
    minor = versions.kubernetes_minor()
    found = places()
    # the pin's neighbours, the upstream image and the release notes spell it: the search must find them
    assert {"versions.env", "docs/kubernetes-releases.md", "k8s_demo/README.md"} <= {n for n, _, _ in found}
    stale = [(name, number, seen) for name, number, seen in found if seen != minor and (name, seen) not in HISTORY]
    assert stale == [], f"these still name another Kubernetes than {minor}: {stale}"
