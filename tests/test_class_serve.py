"""The class in a browser (scripts/class serve), on the real three-node cluster: headless Chromium on a
second laptop (a network namespace of the test's own, tests/second_laptop.py) opens students' links,
types into the live terminal and reads the answer from the page, runs the lecture's deploy step and
sees its check turn green, and comes back to the same shell after a reload and after the server is
restarted. Another student's secret, a namespace that is gone and a terminal pod that cannot start each
get a clear answer. The terminal pod, and only it, reaches the API server; its label is the teacher's."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import need
from second_laptop import HOST_ADDRESS, SecondLaptop
from workshop.classweb import server
from workshop.cluster import class_fence, class_terminal, classroom, kubectl
from workshop.machine import processes
from workshop.paths import ROOT, state

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.classroom]  # the class lane (conftest)
STUDENTS = 3
PORT = 8199  # not the default: a teacher's own serve on this machine is left alone
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = "class-serve-student.png"


def artifacts() -> Path:
    folder = state() / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Serve:
    """scripts/class serve as the teacher runs it, in the background; its output read as it comes."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None

    def start(self) -> "Serve":
        self.lines = []
        self.process = subprocess.Popen(
            [str(ROOT / "scripts" / "class"), "serve", "--address", HOST_ADDRESS, "--port", str(PORT)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 300
        while not any("the teacher's page" in line for line in self.lines):
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.2)
        return self

    def _read(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            self.lines.append(line)

    def teacher(self) -> str:
        return next(line.split(": ", 1)[1].strip() for line in self.lines if "the teacher's page" in line)

    def children(self) -> list[str]:
        """The command lines of the processes serve has started and that still run."""
        assert self.process
        return [" ".join(processes.command_line(pid)) for pid in processes.descendants(self.process.pid)]

    def stop(self) -> str:
        assert self.process
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(timeout=60) == 0, "".join(self.lines)
        time.sleep(0.3)
        return "".join(self.lines)


# a page's WebSocket, held open from this process until the server closes it (then it exits 0)
HOLD_A_TERMINAL = """
import asyncio, json, sys
import aiohttp
async def main():
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(sys.argv[1]) as ws:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT and json.loads(message.data).get("status") == "connected":
                    print("connected", flush=True)
asyncio.run(main())
"""


def link(number: int) -> str:
    secrets = json.loads((classroom.class_dir() / classroom.SERVE_FILE).read_text())["students"]
    return f"http://{HOST_ADDRESS}:{PORT}/s/{secrets[classroom.namespace_of(number)]}"


def in_browsers(laptop: SecondLaptop, plans: list[dict], tmp_path: Path, timeout: float = 400) -> list[dict]:
    """Each plan's student page in headless Chromium on the second laptop (web/check-class.cjs)."""
    out = tmp_path / f"browsers-{time.monotonic_ns()}.json"
    config = {"chromium": CHROMIUM, "out": str(out), "students": plans}
    done = laptop.run(["node", str(ROOT / "web" / "check-class.cjs"), json.dumps(config)], timeout=timeout, cwd=ROOT)
    assert done.returncode == 0 and out.is_file(), done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(out.read_text())["students"]


def ok(report: dict) -> dict:
    assert not report.get("failed") and not report["errors"], json.dumps(report, indent=1)[-5000:]
    return report


def from_laptop(laptop: SecondLaptop, url: str) -> tuple[int, str]:
    probe = (
        "import sys, urllib.request, urllib.error\n"
        "try:\n    r = urllib.request.urlopen(sys.argv[1], timeout=10); print(r.status); print(r.read().decode())\n"
        "except urllib.error.HTTPError as e:\n    print(e.code); print(e.read().decode())\n"
    )
    done = laptop.run(["python3", "-c", probe, url], timeout=30)
    code, _, body = done.stdout.partition("\n")
    return int(code or 0), body


def in_pod(namespace: str) -> str:
    """The command lines running in a student's terminal pod (the image has no ps)."""
    listing = "for p in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $p; echo; done"
    return in_terminal(namespace, "sh", "-c", listing).stdout


def in_terminal(namespace: str, *command: str) -> subprocess.CompletedProcess:
    return kubectl.run(
        "exec", "-n", namespace, class_terminal.POD, "-c", "shell", "--", *command, context=None, check=False
    )


@pytest.fixture(scope="module")
def laptop():
    need(os.geteuid() == 0 and shutil.which("ip") is not None, "a network namespace (root and ip)", "run as root")
    need(os.access(CHROMIUM, os.X_OK), "Debian's chromium", "apt-get install -y chromium")
    need(shutil.which("node") is not None, "Node.js", "install nodejs and npm")
    with SecondLaptop() as machine:
        yield machine
    assert machine.leftovers() == []


@pytest.fixture(scope="module")
def served(workshop_cluster, laptop):
    """A class of three, served at the address the second laptop reaches; down at the end."""
    classroom.up(STUDENTS, say=lambda _: None, address=HOST_ADDRESS)
    serve = Serve()
    try:
        yield serve.start()
    finally:
        if serve.process and serve.process.poll() is None:
            serve.stop()
        said = classroom.down(say=lambda _: None)
        assert said.startswith("removed the class"), said
        assert not (classroom.class_dir() / classroom.SERVE_FILE).exists()
        assert not (classroom.class_dir() / classroom.SERVE_DIR).exists()


def test_a_student_in_a_browser_runs_kubectl_and_the_deploy_and_sees_its_check_turn_green(served, laptop, tmp_path):
    (report,) = in_browsers(
        laptop,
        [
            {
                "url": link(1),
                "actions": [
                    ["prompt"],
                    ["type", "kubectl get pods\n"],
                    ["wait", f"{class_terminal.POD}   1/1     Running"],
                    ["read"],
                    ["slide", 16],
                    ["typeIt", 0],
                    ["wait", "ok-web.yaml -f k8s_demo/ok-worker.yaml"],
                    ["type", "\n"],
                    ["wait", "deployment.apps/ok-worker created"],
                    ["check", "deployed", 180],
                    ["type", "clear; kubectl get deployments\n"],
                    ["wait", "UP-TO-DATE"],
                    ["slide", 16],
                    ["shot", str(artifacts() / SCREENSHOT)],
                ],
            }
        ],
        tmp_path,
    )
    ok(report)
    assert report["httpStatus"] == 200
    assert "Your namespace: cs198-student-01" in report["steps"][3]["screen"]
    assert "ok-web " in report["screen"] and "ok-worker " in report["screen"]
    assert "kubectl apply -f k8s_demo/redis.yaml" in report["state"]["commands"][0]
    done = {check["step"]: check["done"] for check in report["state"]["checks"]}
    assert done["deployed"] and not done["scaled"], done
    # typed by the click, run by Enter: the deploy is the student's, in their namespace, as their account
    pods = kubectl.run("get", "deployments", "-n", classroom.namespace_of(1), "-o", "name", context=None).stdout
    assert "deployment.apps/ok-web" in pods
    print(f"a student's page: prompt {report['steps'][0]['ms']} ms after opening the link")
    if os.environ.get("WORKSHOP_UPDATE_SCREENSHOT"):  # refresh the one docs/class.md shows
        shutil.copyfile(artifacts() / SCREENSHOT, ROOT / "docs" / "class-serve-screenshot.png")


def test_another_students_secret_or_a_wrong_one_opens_nothing(served, laptop, tmp_path):
    mine = link(2)
    teacher_secret = served.teacher().rsplit("/", 1)[1]
    for wrong in (
        mine[:-1] + ("A" if mine[-1] != "A" else "B"),  # one character off
        f"http://{HOST_ADDRESS}:{PORT}/s/{teacher_secret}",  # the teacher's secret opens no student's page
        served.teacher()[:-2],  # nor does a teacher's link cut short
        f"http://{HOST_ADDRESS}:{PORT}/",
    ):
        code, body = from_laptop(laptop, wrong)
        assert code == 404 and body.strip() == server.NOT_YOURS, (wrong, code, body)
    code, body = from_laptop(laptop, f"http://{HOST_ADDRESS}:{PORT}/s/")
    assert code == 404, (code, body)  # no route at all: aiohttp's own 404
    code, body = from_laptop(laptop, link(1)[:-3] + "xyz/tty")
    assert code == 404 and body.strip() == server.NOT_YOURS
    # student 2's page opens student 2's shell, and kubectl there is student 2: the others are forbidden
    (report,) = in_browsers(
        laptop,
        [
            {
                "url": mine,
                "actions": [
                    ["prompt"],
                    ["type", f"kubectl get pods -n {classroom.namespace_of(1)}\n"],
                    ["wait", "Forbidden"],
                    ["type", "kubectl auth whoami -o jsonpath='{.status.userInfo.username}'; echo\n"],
                    ["wait", f"system:serviceaccount:{classroom.namespace_of(2)}:{class_fence.ACCOUNT}"],
                    ["slide", 7],  # a Docker slide: its boxes are recordings, and the page says why
                ],
            }
        ],
        tmp_path,
    )
    ok(report)
    assert "Your namespace: cs198-student-02" in report["screen"]
    docker = report["steps"][-1]["commands"]
    assert docker and all("Docker: a recording of the teacher's machine" in row for row in docker), docker
    assert not any(row.startswith("Type it") for row in docker), docker


def test_the_terminal_alone_reaches_the_api_server_and_its_label_is_the_teachers(served):
    namespace = classroom.namespace_of(2)
    config = classroom.class_dir() / f"{namespace}.kubeconfig"
    reached = in_terminal(namespace, "curl", "-sk", "--max-time", "5", "https://kubernetes.default.svc/version")
    assert reached.returncode == 0 and '"gitVersion"' in reached.stdout, reached.stdout + reached.stderr
    body = class_terminal.pod(namespace, class_fence.ACCOUNT, {}, class_terminal.image())
    body["metadata"]["name"] = "my-own-shell"
    as_student = [kubectl.program(), "--kubeconfig", str(config), "create", "-f", "-"]
    refused = subprocess.run(as_student, input=json.dumps(body), capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "the class terminal's label is the teacher's to set" in refused.stderr
    del body["metadata"]["labels"][class_terminal.LABEL_KEY]
    made = subprocess.run(as_student, input=json.dumps(body), capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    try:
        kubectl.run("wait", "--for=condition=Ready", "pod/my-own-shell", "-n", namespace, "--timeout=90s", context=None)
        blocked = kubectl.run(
            "exec", "-n", namespace, "my-own-shell", "--", "curl", "-sk", "--max-time", "4",
            "https://kubernetes.default.svc/version", context=None, check=False,
        )  # fmt: skip
        assert blocked.returncode == 28, blocked.stdout + blocked.stderr  # curl's timeout: dropped, not refused
        # nor can the student add the label to their pod afterwards, or have a controller add it for them
        labelled = subprocess.run(
            [kubectl.program(), "--kubeconfig", str(config), "label", "pod", "my-own-shell", f"{class_terminal.LABEL_KEY}=true"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert labelled.returncode != 0 and "the class terminal's label is the teacher's to set" in labelled.stderr
    finally:
        kubectl.run("delete", "pod", "my-own-shell", "-n", namespace, "--wait=false", context=None, check=False)
    for kind, template in (("Deployment", body["spec"]), ("Job", {**body["spec"], "restartPolicy": "Never"})):
        labels = {"app": "my-own-shell", class_terminal.LABEL_KEY: "true"}
        spec: dict = {"template": {"metadata": {"labels": labels}, "spec": template}}
        if kind == "Deployment":
            spec["selector"] = {"matchLabels": {"app": "my-own-shell"}}
        workload = {
            "apiVersion": "apps/v1" if kind == "Deployment" else "batch/v1",
            "kind": kind,
            "metadata": {"name": "my-own-shell", "namespace": namespace},
            "spec": spec,
        }
        refused = subprocess.run(as_student, input=json.dumps(workload), capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0 and "no pod template carries it" in refused.stderr, (kind, refused.stderr)


def test_a_reload_and_a_restarted_server_come_back_to_the_same_shell(served, laptop, tmp_path):
    namespace = classroom.namespace_of(1)
    (report,) = in_browsers(
        laptop,
        [
            {
                "url": link(1),
                "actions": [
                    ["prompt"],
                    ["type", "clear; echo before-the-reload; sleep 4242\n"],
                    ["wait", "before-the-reload"],
                    ["reload"],
                    ["status", "ready"],
                    ["wait", "before-the-reload"],  # tmux draws the same screen again
                ],
            }
        ],
        tmp_path,
    )
    ok(report)
    assert "sleep 4242" in in_pod(namespace)
    time.sleep(1)  # the page has gone: its kubectl exec and pty go with it, on the teacher's machine
    assert [line for line in served.children() if " exec " in line] == []
    # a terminal still open when the teacher stops serving does not hold the stop up
    holding = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_TERMINAL, link(1).replace("http://", "ws://") + "/tty"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holding.stdout and holding.stdout.readline().strip() == "connected"
    deadline = time.monotonic() + 10  # "connected" is said just before kubectl exec starts
    while not [line for line in served.children() if " exec " in line] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len([line for line in served.children() if " exec " in line]) == 1  # the one page's kubectl exec
    began = time.monotonic()
    said = served.stop()
    assert time.monotonic() - began < 15, said
    assert "stopped serving" in said
    assert holding.wait(timeout=30) == 0
    code, _ = from_laptop(laptop, link(1))
    assert code == 0  # nothing listens while it is stopped
    served.start()
    (report,) = in_browsers(
        laptop,
        [
            {
                "url": link(1),
                "actions": [["status", "ready"], ["wait", "before-the-reload"], ["type", "\u0003"], ["prompt"]],
            }
        ],
        tmp_path,
    )
    ok(report)
    assert "sleep 4242" not in in_pod(namespace)  # Ctrl-C reached the same shell


def test_several_browsers_at_once_each_on_their_own_student(served, laptop, tmp_path):
    plans = [
        {
            "url": link(n),
            "actions": [
                ["prompt"],
                ["type", "clear; echo mine=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)\n"],
                ["wait", f"mine={classroom.namespace_of(n)}"],
                ["echo", 10],
            ],
        }
        for n in range(1, STUDENTS + 1)
    ]
    reports = [ok(report) for report in in_browsers(laptop, plans, tmp_path)]
    for n, report in enumerate(reports, start=1):
        assert f"mine={classroom.namespace_of(n)}" in report["screen"]
        assert all(ms < 5000 for ms in report["steps"][-1]["echo"]), report["steps"][-1]


def test_a_terminal_that_cannot_start_and_a_namespace_that_is_gone_say_why(served, laptop, tmp_path):
    namespace = classroom.namespace_of(3)
    kubectl.run("patch", "resourcequota", "student", "-n", namespace, "--type=merge", "-p",
                '{"spec": {"hard": {"limits.memory": "1Mi"}}}', context=None)  # fmt: skip
    kubectl.run("delete", "pod", class_terminal.POD, "-n", namespace, "--wait=true", context=None, check=False)
    (report,) = in_browsers(laptop, [{"url": link(3), "actions": [["status", "error", 60000]]}], tmp_path)
    ok(report)
    said = report["state"]["status"]
    assert said.startswith("your terminal cannot start: ") and "exceeded quota" in said, said
    board = json.loads(urllib.request.urlopen(served.teacher() + "/board.json", timeout=30).read())
    row = next(r for r in board["rows"] if r[0] == namespace)
    assert "exceeded quota" in row[5], row

    kubectl.run("delete", "namespace", namespace, "--wait=true", "--timeout=120s", context=None, timeout=150)
    (report,) = in_browsers(laptop, [{"url": link(3), "actions": [["status", "error", 60000]]}], tmp_path)
    ok(report)
    said = report["state"]["status"]
    assert (
        said
        == f"your terminal cannot start: the namespace {namespace} is gone: the teacher runs scripts/class up again"
    )


def test_the_teachers_page_lists_a_card_per_student_and_the_board(served):
    page = urllib.request.urlopen(served.teacher(), timeout=30).read().decode()
    for n in range(1, STUDENTS + 1):
        assert page.count(link(n)) == 2  # the link's text and its href, on the student's card
    board = json.loads(urllib.request.urlopen(served.teacher() + "/board.json", timeout=30).read())
    assert [row[0] for row in board["rows"]] == [classroom.namespace_of(n) for n in range(1, STUDENTS + 1)]
    assert board["head"][-1] == "TERMINAL" and board["summary"].startswith("most of the class")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(served.teacher() + "x/board.json", timeout=30)
    assert refused.value.code == 404
