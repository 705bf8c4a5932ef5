"""scripts/catch-up, for real: the rehearsal engine runs the boxes before a slide in real workshop
shells. Fast on a deck of its own (tests/decks/catch-up.md); slow on the real Docker engine; and,
marked `cluster`, on a fresh workshop cluster: run that one alone on the cluster, as in
`flock /tmp/workshop-cluster.lock env CI=true scripts/test tests/test_catch_up.py`."""

import os
import subprocess
import uuid

import pytest

from test_real_terminal import tagged_processes  # processes carrying a test's tag in their environment
from workshop.cluster import kubectl
from workshop.commands.catch_up import in_effect
from workshop.deck import reader as deck
from workshop.names import PY_IMAGE
from workshop.paths import DECK, ROOT
from workshop.presenter.catch_up import CatchUp

SMALL = ROOT / "tests" / "decks" / "catch-up.md"
CATCH_UP, CHECK = str(ROOT / "scripts" / "catch-up"), str(ROOT / "scripts" / "check")
DECK_MODEL = deck.read(DECK)
APP = [arg for name in ("ok-worker", "ok-web", "redis") for arg in ("-f", str(ROOT / "k8s_demo" / f"{name}.yaml"))]


@pytest.fixture
def catch_up(tmp_path):
    """Run scripts/catch-up ARGS, with a state folder of its own unless it needs the workshop's (its
    kubeconfig); returns (status, stdout lines, stderr lines)."""
    tag = uuid.uuid4().hex

    def run(*args: str, timeout: float = 120, own_state: bool = True):
        env = {**os.environ, "WORKSHOP_E2E_TAG": tag, **({"WORKSHOP_STATE": str(tmp_path)} if own_state else {})}
        done = subprocess.run([CATCH_UP, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd="/")
        print(done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        return done.returncode, done.stdout.splitlines(), done.stderr.splitlines()

    run.tag = tag  # type: ignore[attr-defined]  # a function attribute: mypy models none (python/mypy#2087)
    return run


@pytest.mark.parametrize(
    "slide, message",
    [
        ("9", "catch-up: there is no slide 9: catch-up.md has slides 1 to 4"),
        ("0", "catch-up: there is no slide 0: catch-up.md has slides 1 to 4"),
        ("no such title", "catch-up: no slide title contains 'no such title': give the slide's number, 1 to 4"),
    ],
)
def test_a_slide_out_of_range_is_one_line(catch_up, slide, message):
    status, out, err = catch_up(slide, "--deck", str(SMALL))
    assert (status, out, err) == (2, [], [message])


def test_the_boxes_before_the_slide_run_and_its_server_is_stopped(catch_up, tmp_path):
    status, out, err = catch_up("3", "--deck", str(SMALL))
    assert status == 0 and err == []
    assert [line.split()[0] for line in out[:2]] == ["OK", "OK"]
    assert "slide 2 box 1" in out[0] and "python -u -m http.server" in out[0]
    assert "slide 2 box 2" in out[1]  # its [rehearse] expect does not match, but catch-up judges the status
    assert out[2].startswith("catch-up: ready for slide 3 (A server again, and a box that fails): 2 box(es) run")
    assert (tmp_path / "catch-up-made").read_text() == "made\n"
    assert tagged_processes(catch_up.tag) == []  # the long-running server was stopped at its slide's end


def test_nothing_to_run_before_the_first_slide(catch_up):
    assert catch_up("1", "--deck", str(SMALL)) == (0, ["catch-up: nothing to run before slide 1"], [])


def test_a_failing_box_is_one_line_with_the_fix_and_leaves_nothing_running(catch_up, tmp_path):
    status, out, err = catch_up("The end", "--deck", str(SMALL))
    assert status == 1
    assert out[-1].startswith("FAIL") and "slide 3 box 2" in out[-1] and "ls /no/such/folder" in out[-1]
    (line,) = err
    assert line.startswith(
        "catch-up: slide 3 box 2 failed (`ls /no/such/folder`): exit status 2, expected exit "
        f"status 0. Fix: its output is in {tmp_path}/logs/catch-up.log"
    ), line
    assert line.endswith(
        "then run scripts/catch-up 4 again (what is done is passed over); nothing it started is left running"
    )
    assert "No such file or directory" in (tmp_path / "logs" / "catch-up.log").read_text()
    assert tagged_processes(catch_up.tag) == []  # slide 3's server, up when its next box failed, is gone


def test_a_step_already_in_effect_is_passed_over_so_a_second_run_is_safe(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE", str(tmp_path))  # where the deck's second box writes
    made = tmp_path / "catch-up-made"

    def in_effect(box):  # the step of "echo made > ...": the file
        return "the file is there" if (box.typed or "").startswith("echo made") and made.exists() else None

    small = deck.read(SMALL)
    for expected in (["OK", "OK"], ["OK", "DONE"]):
        lines: list[str] = []
        summary = CatchUp(small, 3, in_effect, say=lines.append).run()
        assert [line.split()[0] for line in lines] == expected, lines
        assert made.exists()
    assert "slide 2 box 2" in lines[1] and "already in effect: the file is there" in lines[1]
    assert summary.startswith("catch-up: ready for slide 3") and "1 box(es) run, 1 already done" in summary


def test_catch_up_passes_over_only_the_boxes_the_deck_marks_skip():
    # a box marked `step: NAME skip` is asked about; any other box is run, whatever its step
    marked = [box for path in deck.workshop_decks() for box in deck.read(path).boxes() if box.directives.steps]
    skip = [box for box in marked if any(role == "skip" for _, role in box.directives.steps)]
    assert skip and len(skip) < len(marked)
    for box in marked:
        if box not in skip:
            assert in_effect(box) is None, box.label


def last_slide_of(part_name: str) -> int:
    return next(part.last for part in DECK_MODEL.parts if part.name == part_name)


def slide_titled(words: str) -> int:
    return next(slide.number for slide in DECK_MODEL.slides if words in slide.title)


def check(step: str) -> subprocess.CompletedProcess:
    done = subprocess.run([CHECK, step], capture_output=True, text=True, timeout=120)
    print(done.stdout, done.stderr)
    return done


@pytest.mark.slow
def test_catch_up_to_the_end_of_the_docker_part_on_the_real_engine(docker, catch_up):
    last = last_slide_of("Docker")
    # without its tag the image must be built again (its layers stay cached); in use, it stays
    untagged = subprocess.run([docker, "rmi", PY_IMAGE], capture_output=True, timeout=120).returncode == 0
    status, out, err = catch_up(str(last), timeout=1200)
    assert status == 0, err
    assert out[-1].startswith(f"catch-up: ready for slide {last}")
    if untagged:
        assert any(line.startswith("OK") and f"docker build -t {PY_IMAGE}" in line for line in out), out
    assert check("py-image").returncode == 0
    status, again, err = catch_up(str(last), timeout=1200)  # a second run passes over what is there
    assert status == 0, err
    done = [line for line in again if line.startswith("DONE")]
    assert any("check py-image passes" in line for line in done), again
    assert not any("deb-image" in line for line in again), again  # the Debian build is in the extras now
    assert check("py-image").returncode == 0
    assert tagged_processes(catch_up.tag) == []


def app_objects() -> str:
    return kubectl.run(
        "get",
        "deployments,services",
        "-l",
        "app.kubernetes.io/part-of=cs198-workshop",
        "-o",
        "name",
        "--ignore-not-found",
        check=False,
        timeout=60,
    ).stdout.strip()


@pytest.mark.slow
@pytest.mark.cluster
def test_catch_up_to_the_rollout_on_a_fresh_cluster(workshop_cluster, docker, catch_up):
    before = app_objects()
    kubectl.run("delete", *APP, "--ignore-not-found", "--wait=true", timeout=180, check=False)
    try:
        rollout = slide_titled("Shipping a new version")
        status, out, err = catch_up(str(rollout), timeout=1800, own_state=False)
        assert status == 0, err
        assert check("deployed").returncode == 0
        assert check("scaled").returncode == 0
        assert tagged_processes(catch_up.tag) == []  # its port-forwards and servers are stopped
        status, again, err = catch_up(str(rollout), timeout=1800, own_state=False)  # safe to run twice
        assert status == 0, err
        done = " ".join(line for line in again if line.startswith("DONE"))
        assert all(f"check {step} passes" in done for step in ("deployed", "self-healed", "scaled")), again
        assert check("scaled").returncode == 0
    finally:  # as it was: the app deployed from its manifests, or not
        if before:
            kubectl.run("apply", *APP, timeout=180, check=False)
        else:
            kubectl.run("delete", *APP, "--ignore-not-found", "--wait=true", timeout=180, check=False)
