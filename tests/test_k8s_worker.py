"""The okpy-mini worker tier end to end: real RQ worker processes, real Redis, submissions through the web app.

Also: both tiers stop promptly on SIGTERM (what Kubernetes sends when it deletes a pod), and,
when a Docker engine and the python:3.12-slim-trixie base are there, the image runs read-only as non-root.
"""

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import docker_answers, need
from support.checkout import as_committed
from test_k8s_app import ALL_RIGHT, K8S, STATUS_TEXT, create_app, free_port, redis_server, redis_url, start_redis, stop  # noqa: F401
from workshop.names import PYTHON_IMAGE

GRADED_LINE = re.compile(r"graded submission=[0-9a-f]{8} assignment=\w+ score=\d/\d pod=\S+ seconds=[\d.]+$")


class Worker:
    """`python -m okpy_mini.worker` in a subprocess, its output in a file."""

    def __init__(self, url: str, log: Path, grade_seconds: float):
        self.log = log
        env = dict(os.environ, REDIS_URL=url, GRADE_SECONDS=str(grade_seconds), POD_NAME=log.stem, PYTHONPATH=str(K8S))
        with open(log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "okpy_mini.worker"], cwd=K8S, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text()

    def graded_lines(self) -> list:
        return [line for line in self.output().splitlines() if "graded submission=" in line]

    def wait_for(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.process.poll() is None, f"worker exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} from the worker:\n{self.output()}"
            time.sleep(0.05)

    def terminate(self) -> float:
        """SIGTERM, as the kubelet sends it; returns how long the worker took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"the worker ignored SIGTERM for 10 s:\n{self.output()}")
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(url, count=1, grade_seconds=0.05):
        new = [Worker(url, tmp_path / f"ok-worker-{len(started) + i}.log", grade_seconds) for i in range(count)]
        started.extend(new)
        for worker in new:  # started together, awaited together
            worker.wait_for("worker ready")
        return new

    yield start
    for worker in started:
        worker.kill()


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def status(text: str) -> dict:
    """The fields of the status page, which must read as STATUS_TEXT."""
    found = STATUS_TEXT.fullmatch(text)
    assert found is not None, text
    return found.groupdict()


def counts(client) -> dict:
    return status(client.get("/").get_data(as_text=True))


def test_two_workers_grade_everything_submitted(redis_url, workers):  # noqa: F811 (the fixture)
    pair = workers(redis_url, count=2)
    client = create_app(redis_url=redis_url, version="v1", pod="ok-web-test").test_client()
    wait_until(lambda: counts(client)["workers"] == "2", 10, "both workers to register")
    right = client.post("/submit", json={"assignment": "hw01", "student": "ada", "answers": ALL_RIGHT})
    wrong = client.post(
        "/submit", json={"assignment": "lab01", "student": "bob", "answers": {"q1": "3.5", "q2": "1", "q3": "False"}}
    )
    assert client.post("/demo/flood?n=30").get_data(as_text=True) == "queued: 30\n"
    total = 32
    started = time.monotonic()
    wait_until(lambda: counts(client)["graded"] == str(total), 30, f"{total} submissions graded")
    elapsed = time.monotonic() - started
    assert counts(client) | {"pod": "-"} == {
        "version": "v1",
        "pod": "-",
        "redis": "ok",
        "queue": "0",
        "workers": "2",
        "submitted": str(total),
        "graded": str(total),
    }

    ada = client.get(right.get_json()["url"]).get_json()
    assert ada["status"] == "finished"
    assert (ada["result"]["score"], ada["result"]["total"], ada["result"]["student"]) == (4, 4, "ada")
    bob = client.get(wrong.get_json()["url"]).get_json()["result"]
    assert (bob["score"], bob["correct"], bob["wrong"]) == (1, ["q2"], ["q1", "q3"])
    assert {ada["result"]["graded_by"], bob["graded_by"]} <= {"ok-worker-0", "ok-worker-1"}

    # One log line per graded job, split between the two workers.
    lines = [line for worker in pair for line in worker.graded_lines()]
    assert len(lines) == total and all(GRADED_LINE.search(line) for line in lines), lines
    assert all(worker.graded_lines() for worker in pair), "both workers should have taken jobs"
    # 32 jobs at 0.05 s on two workers: well under serial time plus overhead.
    assert elapsed < 15
    for worker in pair:
        assert worker.terminate() < 5
        assert worker.process.returncode == 0
        assert "worker stopped" in worker.output()
    wait_until(lambda: counts(client)["workers"] == "0", 5, "workers to unregister on a clean stop")


def test_sigterm_lets_the_job_in_hand_finish(redis_url, workers):  # noqa: F811 (the fixture)
    """RQ's warm shutdown: a pod deleted mid-job still finishes grading that submission."""
    [worker] = workers(redis_url, grade_seconds=1.5)
    client = create_app(redis_url=redis_url, version="v1", pod="ok-web-test").test_client()
    url = client.post("/submit", json={"assignment": "hw01", "answers": ALL_RIGHT}).get_json()["url"]
    wait_until(lambda: client.get(url).get_json()["status"] == "started", 10, "the job to start")
    took = worker.terminate()
    assert worker.process.returncode == 0
    assert client.get(url).get_json()["status"] == "finished", worker.output()
    assert took < 5, f"took {took:.1f} s"
    assert len(worker.graded_lines()) == 1


def test_an_idle_worker_stops_at_once(redis_url, workers):  # noqa: F811 (the fixture)
    [worker] = workers(redis_url)
    took = worker.terminate()
    assert took < 2, f"took {took:.1f} s"
    assert worker.process.returncode == 0


@pytest.mark.slow
@pytest.mark.bare
def test_an_idle_worker_outlives_the_redis_read_timeout(redis_url, workers):  # noqa: F811 (the fixture)
    """The client gives up on a silent Redis after 5 s; RQ's blocking wait for jobs must not trip over that."""
    [worker] = workers(redis_url)
    time.sleep(7)
    assert worker.process.poll() is None, worker.output()
    client = create_app(redis_url=redis_url, version="v1", pod="ok-web-test").test_client()
    client.post("/demo/flood?n=2")
    wait_until(lambda: counts(client)["graded"] == "2", 10, "the long-idle worker to grade")


def test_the_typo_of_the_crash_lesson_makes_the_worker_exit_with_its_reason(tmp_path):
    """k8s_demo/typo.yaml: the value it sets makes the real worker exit non-zero at start-up
    with one line that names the setting, which is what `kubectl logs --previous` shows the class;
    it does so before it looks for Redis (here nothing listens), so the crash does not wait for Redis."""
    nothing_listens = f"redis://127.0.0.1:{free_port()}/0"
    typo = yaml.safe_load(as_committed(K8S / "typo.yaml"))
    (container,) = typo["spec"]["template"]["spec"]["containers"]
    value = {e["name"]: e["value"] for e in container["env"]}["GRADE_SECONDS"]
    done = subprocess.run(
        [sys.executable, *container["command"][1:]],
        cwd=K8S,
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ, REDIS_URL=nothing_listens, GRADE_SECONDS=value, PYTHONPATH=str(K8S)),
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"GRADE_SECONDS must be a number of seconds, not {value!r}"
    assert "Traceback" not in done.stderr


def test_a_worker_waits_for_redis_and_can_be_stopped_meanwhile(tmp_path):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    log = tmp_path / "waiting.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "okpy_mini.worker"],
            cwd=K8S,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, REDIS_URL=dead),
        )
    try:
        wait_until(lambda: "waiting for redis" in log.read_text(), 10, "the worker to wait for Redis")
        assert process.poll() is None, "no Redis yet is no reason to crash (the pod would count restarts)"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- the web tier's gunicorn


def dockerfile_cmd() -> list:
    text = re.sub(r"\\\n", " ", (K8S / "Dockerfile").read_text())
    [cmd] = [line for line in text.splitlines() if line.startswith("CMD ")]
    return json.loads(cmd[4:])


def http_get(url: str, timeout: float = 2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def answers_200(url: str) -> bool:
    """True once a server answers 200 at url; False while it refuses, resets or errs."""
    try:
        return http_get(url)[0] == 200
    except OSError:
        return False


def test_gunicorn_runs_the_image_command_and_stops_on_sigterm(redis_url, tmp_path):  # noqa: F811 (the fixture)
    """The Dockerfile's own CMD, on a free loopback port: serves, then exits promptly on SIGTERM."""
    port = free_port()
    command = [arg.replace("0.0.0.0:8000", f"127.0.0.1:{port}") for arg in dockerfile_cmd()]
    command[0] = str(Path(sys.executable).with_name("gunicorn"))
    env = dict(os.environ, REDIS_URL=redis_url, APP_VERSION="v1", POD_NAME="ok-web-gunicorn")
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=K8S, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"

        def up():
            assert process.poll() is None, log.read_text()
            return answers_200(base + "/healthz")

        wait_until(up, 20, "gunicorn to answer")
        assert http_get(base + "/readyz") == (200, "ready\n")
        code, text = http_get(base + "/")
        page = STATUS_TEXT.fullmatch(text)
        assert code == 200 and page and page["version"] == "v1" and page["pod"] == "ok-web-gunicorn", text
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0, log.read_text()
        took = time.monotonic() - started
        assert took < 8, f"gunicorn took {took:.1f} s to stop (the pod's grace period is 10 s)"
        assert "Handling signal: term" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- the image, for real

BASE_IMAGE = PYTHON_IMAGE
TEST_IMAGE = "okpy-mini-pytest:v9"


def docker(*args, check=True, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.mark.beside
@pytest.mark.slow
def test_the_image_runs_both_tiers_read_only_as_non_root(tmp_path):
    need(docker_answers(), "a Docker engine", "run scripts/prepare (or start Docker Desktop)")
    need(
        docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0,
        f"the base image {BASE_IMAGE}",
        "run scripts/prepare, which stages it",
    )
    [ipam] = json.loads(docker("network", "inspect", "bridge", "-f", "{{json .IPAM.Config}}").stdout)
    # Docker gives the bridge's gateway the subnet's first address unless told otherwise.
    gateway = ipam.get("Gateway") or str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))
    # A host redis-server the containers reach through the bridge's gateway address.
    process, url = start_redis(tmp_path / "redis", bind=gateway)
    names = [f"okpy-mini-pytest-{os.getpid()}-{tier}" for tier in ("web", "worker")]
    try:
        docker("build", "--build-arg", "APP_VERSION=v9", "-t", TEST_IMAGE, str(K8S), timeout=600)
        # As in the pods: read-only root, no capabilities; the user is the image's own (USER 10001:10001).
        hardened = [
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "-e",
            f"REDIS_URL={url}",
            "-e",
            "GRADE_SECONDS=0.05",
        ]
        docker("run", "-d", "--name", names[0], "-p", "127.0.0.1::8000", *hardened, TEST_IMAGE)
        docker("run", "-d", "--name", names[1], *hardened, TEST_IMAGE, "python", "-m", "okpy_mini.worker")
        host_port = docker("port", names[0], "8000/tcp").stdout.split(":")[-1].strip()
        base = f"http://127.0.0.1:{host_port}"

        wait_until(lambda: answers_200(base + "/readyz"), 30, "the web container to be ready")
        request = urllib.request.Request(base + "/demo/flood?n=10", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.read() == b"queued: 10\n"
        wait_until(
            lambda: status(http_get(base + "/")[1])["graded"] == "10",
            30,
            "the worker container to grade 10 submissions",
        )
        page = status(http_get(base + "/")[1])
        container_id = docker("inspect", "-f", "{{.Config.Hostname}}", names[0]).stdout.strip()
        assert (page["version"], page["pod"], page["workers"]) == ("v9", container_id, "1")
        assert docker("exec", names[0], "id").stdout.startswith("uid=10001 gid=10001 ")
        assert docker("exec", names[0], "touch", "/app/x", check=False).returncode != 0, "root fs is read-only"
        logs = docker("logs", names[1]).stdout
        assert len([line for line in logs.splitlines() if GRADED_LINE.search(line)]) == 10, logs
        for name in names:  # docker stop sends SIGTERM, then SIGKILL after 10 s
            started = time.monotonic()
            docker("stop", "-t", "10", name)
            assert time.monotonic() - started < 8, f"{name} did not stop on SIGTERM"
            assert docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == "0"
    finally:
        for name in names:
            docker("rm", "-f", name, check=False)
        docker("rmi", TEST_IMAGE, check=False)
        stop(process)
