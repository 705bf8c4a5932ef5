"""scripts/check: each step judged against real things started here (the demo server on port
3000, the demo image in a container on port 8000, real images), failures with a hint naming the
slide whose box does the step, and one line for a step that does not exist."""

import os
import re
import socket
import subprocess
import sys
import time

import pytest

from conftest import need, run_command
from workshop.deck import reader as deck
from workshop.machine import ports
from workshop.names import DEB_IMAGE, DEBIAN_IMAGE, PY_IMAGE
from workshop.paths import ROOT
from workshop.rehearsal import boxes, step_table, steps as check


def run_check(*args):
    return run_command("check", *args, timeout=180)


def slide_of(name):
    """'N' for a box of the lecture, 'N of extras.md' for one that moved to the extras, by the box's id."""
    for path in deck.workshop_decks():
        for box in deck.read(path).boxes():
            if box.directives.id == name:
                return f"{box.slide}{deck.where(path)}"
    raise AssertionError(f"no box of either deck has the id {name!r}")


def wait_for_port(port, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listened on port {port} within {seconds} s")


def free_port_or_skip(port):
    need(
        not ports.busy(port),
        f"port {port} free (the check looks there; someone is running the deck?)",
        f"free port {port}",
    )


# ---------------------------------------------------------------- the command itself


def test_an_unknown_step_is_one_line_with_the_list():
    done = run_check("serverr")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "unknown step 'serverr'" in done.stderr
    for step in step_table.STEPS:
        assert step in done.stderr


def test_list_names_every_step_with_what_it_checks():
    done = run_check("--list")
    assert done.returncode == 0
    listed = {line.split()[0]: line.split(None, 1)[1] for line in done.stdout.splitlines()[1:]}
    assert listed == {name: entry.what for name, entry in step_table.STEPS.items()}


def test_each_steps_window_opens_before_it_closes_in_the_decks():
    """In each deck, the box a step starts at comes no later than the box after which it works, and the
    boxes catch-up passes over lie between them: a deck whose marks point backwards would make the
    fail-first check run after the pass. Every step the table checks has its window in a deck, and
    every step a deck names is in the table."""
    windows = set()
    for path in deck.workshop_decks():
        model = deck.read(path)
        order = {box.label: n for n, box in enumerate(model.boxes())}
        named = {step for box in model.boxes() for step, _ in box.directives.steps}
        assert named <= set(step_table.STEPS), (path.name, named - set(step_table.STEPS))
        for step in named:
            starts, ends = model.step_boxes(step, "start"), model.step_boxes(step, "done")
            if not (starts and ends):
                continue
            windows.add(step)
            first, last = order[starts[0].label], order[ends[-1].label]
            assert first <= order[ends[0].label], (path.name, step)
            for box in model.step_boxes(step, "skip"):
                assert first <= order[box.label] <= last, (path.name, step, box.label)
    assert windows == set(step_table.STEPS)


ID_NAMES = sorted(v for n, v in vars(boxes).items() if n.isupper() and n != "MISSING_TAG" and "/" not in v)


def test_every_id_the_code_names_is_written_once_in_the_code():
    assert len(ID_NAMES) == len(set(ID_NAMES)) >= 15


@pytest.mark.parametrize("name", ID_NAMES)
def test_every_hint_finds_its_box_in_the_deck(name):
    hint = check.box_hint(name)
    assert hint.startswith(f"run the box on slide {slide_of(name)} (`")


def test_a_hint_for_a_box_no_deck_names_says_so_in_one_line():
    hint = check.box_hint("no-such-box")
    assert "no box of the decks is named 'no-such-box'" in hint and "\n" not in hint


def test_the_lessons_hints_point_at_their_own_slides_in_lecture_order():
    """Two in-cluster clients and two set-image boxes in the lecture, undo in the extras: each hint must
    name the slide of its own lesson."""
    slides = [int(slide_of(name)) for name in (boxes.SPREAD, boxes.SET_V2, boxes.SET_V3, boxes.REPAIR)]
    assert slides == sorted(slides) and len(set(slides)) == 4, slides
    assert slide_of(boxes.UNDO).endswith(" of extras.md")


# ---------------------------------------------------------------- Part 1, for real


@pytest.fixture
def server_on_3000():
    free_port_or_skip(3000)
    process = subprocess.Popen(
        [sys.executable, "docker_demo/server.py"],
        cwd=ROOT,
        env={**os.environ, "PORT": "3000"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(3000)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.machine
def test_server_passes_while_the_real_server_runs_and_fails_with_a_hint_after(server_on_3000):
    done = run_check("server")
    assert (done.returncode, done.stdout) == (
        0,
        "PASS server: localhost:3000 answers 'Hello from the workshop demo server!'\n",
    )
    server_on_3000.terminate()
    server_on_3000.wait(timeout=10)
    done = run_check("server")
    assert done.returncode == 1
    assert done.stdout.startswith(
        "FAIL server: nothing answers on localhost:3000. Hint: run the box on slide "
        f"{slide_of(boxes.SERVER)} (`python docker_demo/server.py`)"
    )


@pytest.mark.machine
def test_server_fails_when_something_else_answers_on_3000(tmp_path):
    free_port_or_skip(3000)
    (tmp_path / "index.html").write_text("a different server\n")
    other = subprocess.Popen(
        [sys.executable, "-m", "http.server", "3000", "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(3000)
        done = run_check("server")
    finally:
        other.terminate()
        other.wait(timeout=10)
    assert done.returncode == 1
    assert "not the demo server's greeting" in done.stdout and "Hint: stop whatever else" in done.stdout


def test_a_missing_image_fails_with_the_build_box(docker):
    with pytest.raises(check.Failed) as failed:
        check.check_image("workshop-demo-nosuchimage:0", boxes.BUILD_DEB)
    assert failed.value.found == "no image workshop-demo-nosuchimage:0"
    assert failed.value.hint.startswith(f"run the box on slide {slide_of(boxes.BUILD_DEB)} (`docker build -t")


def test_an_image_that_runs_as_root_fails_the_non_root_check(docker):
    need(
        subprocess.run(["docker", "image", "inspect", DEBIAN_IMAGE], capture_output=True).returncode == 0,
        DEBIAN_IMAGE,
        "run scripts/prepare",
    )
    with pytest.raises(check.Failed) as failed:
        check.check_image(DEBIAN_IMAGE, boxes.BUILD_PY, non_root=True)
    assert "runs as root (uid 0)" in failed.value.found
    assert f"slide {slide_of(boxes.BUILD_PY)}" in failed.value.hint


def test_the_demo_images_pass_when_built(docker):
    for step, ref in (("deb-image", DEB_IMAGE), ("py-image", PY_IMAGE)):
        need(
            subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0,
            ref,
            "run scripts/prepare deck-images",
        )
        done = run_check(step)
        assert done.returncode == 0 and done.stdout.startswith(f"PASS {step}: {ref} is built ("), done.stdout
        if step == "py-image":
            assert "runs as uid 10001, not root" in done.stdout


def test_arch_passes_for_the_demo_image_and_names_the_build_box_without_it(docker, monkeypatch):
    need(
        subprocess.run(["docker", "image", "inspect", PY_IMAGE], capture_output=True).returncode == 0,
        PY_IMAGE,
        "run scripts/prepare deck-images",
    )
    done = run_check("arch")
    assert done.returncode == 0, done.stdout
    assert re.fullmatch(
        rf"PASS arch: {re.escape(PY_IMAGE)} is linux/(amd64|arm64), like the engine, and its "
        r"container runs on (x86_64|aarch64)\n",
        done.stdout,
    ), done.stdout
    monkeypatch.setattr(check, "PY_IMAGE", "workshop-demo-nosuchimage:0")
    outcome = step_table.check("arch")
    assert not outcome.ok and outcome.found == "no image workshop-demo-nosuchimage:0"
    assert f"slide {slide_of(boxes.BUILD_PY)}" in outcome.hint


def test_arch_fails_when_the_image_is_for_another_cpu(docker, monkeypatch):
    """No arm64 image can be pulled here, so the engine's answer about the image is replaced."""
    monkeypatch.setattr(check.engine, "image_platform", lambda ref: "linux/arm64")
    outcome = step_table.check("arch")
    assert not outcome.ok and "is linux/arm64 but the engine runs linux/" in outcome.found
    assert "exec format error" in outcome.found and f"slide {slide_of(boxes.BUILD_PY)}" in outcome.hint


@pytest.mark.slow
def test_container_passes_with_the_demo_image_running_on_8000(docker):
    need(
        subprocess.run(["docker", "image", "inspect", PY_IMAGE], capture_output=True).returncode == 0,
        PY_IMAGE,
        "build it with the box of the deck (or scripts/rehearse --slides 10)",
    )
    free_port_or_skip(8000)
    failing = run_check("container")
    assert failing.returncode == 1
    assert f"Hint: run the box on slide {slide_of(boxes.CONTAINER)} (`docker run" in failing.stdout
    name = "workshop-checktest"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    subprocess.run(
        ["docker", "run", "-d", "--rm", "--name", name, "-p", "8000:3000", PY_IMAGE], check=True, capture_output=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            done = run_check("container")
            if done.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("PASS container: localhost:8000 answers from a Linux container (os: Linux")


# ---------------------------------------------------------------- Part 2


def deployment(
    replicas=2,
    ready=2,
    updated=2,
    total=2,
    available=2,
    generation=3,
    observed=3,
    image="localhost:5001/okpy-mini:v1",
    revision="1",
):
    return {
        "metadata": {"generation": generation, "annotations": {"deployment.kubernetes.io/revision": revision}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "web", "image": image}]}}},
        "status": {
            "observedGeneration": observed,
            "readyReplicas": ready,
            "updatedReplicas": updated,
            "replicas": total,
            "availableReplicas": available,
            "conditions": [{"type": "Available", "status": "True"}],
        },
    }


def test_a_rollout_is_complete_only_when_every_old_pod_is_gone():
    assert check.rollout_complete(deployment())
    assert not check.rollout_complete(deployment(total=3))  # an old pod still runs (maxSurge 1)
    assert not check.rollout_complete(deployment(updated=1))
    assert not check.rollout_complete(deployment(observed=2))  # the controller has not seen the change
    assert check.ready(deployment(replicas=3, ready=1)) == (1, 3)
    assert check.web_image(deployment(image="x:v2")) == "x:v2"
    assert check.first_web_image() == "localhost:5001/okpy-mini:v1"


@pytest.mark.cluster
def test_cluster_steps_fail_with_a_hint_before_the_app_and_deployed_passes_after(workshop_cluster):
    from workshop.cluster import kubectl, warm_up

    files = warm_up.manifest_args()
    kubectl.run("delete", *files, "--ignore-not-found", "--wait=true", timeout=180)
    try:
        for step in (
            "deployed",
            "worker-limits",
            "service",
            "self-healed",
            "scaled",
            "drained",
            "rolled-out",
            "rolled-back",
            "repaired",
        ):
            done = run_check(step)
            line = done.stdout.rstrip("\n")
            assert "\n" not in line and done.stderr == ""
            assert done.returncode == 1 and line.startswith(f"FAIL {step}: ") and ". Hint: " in line, line
        kubectl.run("apply", *files)
        kubectl.run("wait", "--for=condition=Available", "deployment", "--all", "--timeout=180s", timeout=200)
        kubectl.run("wait", "--for=condition=Ready", "pods", "--all", "--timeout=120s", timeout=130)
        for step, found in (
            ("deployed", "ok-web 2/2 ready"),
            (
                "worker-limits",
                "runs as uid 10001 on a read-only root filesystem, limited to 500m CPU and 256Mi of memory",
            ),
            ("service", "the Service's ClusterIP, and 20 requests reached 2 pods"),
        ):
            done = run_check(step)
            assert done.returncode == 0 and done.stdout.startswith(f"PASS {step}: ") and found in done.stdout, (
                done.stdout
            )
        done = run_check("repaired")
        assert done.returncode == 1 and "was never rolled out to the missing" in done.stdout
        assert f"slide {slide_of(boxes.SET_V3)}" in done.stdout
    finally:
        kubectl.run("delete", *files, "--ignore-not-found", "--wait=true", timeout=180, check=False)


@pytest.mark.cluster
def test_repaired_fails_while_the_missing_tag_is_rolled_out_and_passes_after_the_undo(workshop_cluster):
    """The broken-rollout lesson done for real: a tag that was never pushed, then the undo."""
    from workshop.cluster import kubectl, warm_up

    files = warm_up.manifest_args()
    kubectl.run("apply", *files)
    try:
        kubectl.run("wait", "--for=condition=Available", "deployment", "--all", "--timeout=180s", timeout=200)
        kubectl.run("set", "image", "deployment/ok-web", f"web={check.MISSING_TAG}")
        deadline = time.monotonic() + 60
        while "ImagePull" not in kubectl.run("get", "pods", "-l", "app=ok-web").stdout:
            assert time.monotonic() < deadline, "the pod of the missing tag never reported a failed pull"
            time.sleep(0.5)
        done = run_check("repaired")
        assert done.returncode == 1 and f"ok-web still asks for {check.MISSING_TAG}" in done.stdout, done.stdout
        assert (
            f"Hint: run the box on slide {slide_of(boxes.REPAIR)} (`kubectl apply -f k8s_demo/ok-web.yaml"
            in done.stdout
        )
        kubectl.run("rollout", "undo", "deployment/ok-web")
        kubectl.run("rollout", "status", "deployment/ok-web", "--timeout=60s", timeout=70)
        deadline = time.monotonic() + 30
        while (done := run_check("repaired")).returncode != 0 and time.monotonic() < deadline:
            time.sleep(1)  # the broken pod is still terminating
        assert done.stdout.startswith("PASS repaired: ok-web is back on localhost:5001/okpy-mini:v1"), done.stdout
    finally:
        kubectl.run("delete", *files, "--ignore-not-found", "--wait=true", timeout=180, check=False)
