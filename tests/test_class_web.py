"""scripts/class serve's own parts, without a cluster: the links and their secrets, what the server answers
to a link that is not a student's, the terminal's size and command, why a terminal pod is not ready, the
student checks the page shows, and the fence's room for the terminal. The browser and the cluster are in
tests/test_class_serve.py."""

import asyncio
import json
import stat

import pytest
from aiohttp.test_utils import TestClient, TestServer

from workshop.classweb import checks, links, server, terminal
from workshop.cluster import class_fence, class_terminal, classroom


@pytest.fixture
def roster(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE", str(tmp_path / "state"))
    classroom.class_dir().mkdir(parents=True)

    def write(count: int) -> None:
        students = [
            {"student": n, "namespace": classroom.namespace_of(n), "kubeconfig": f"/nowhere/{n}.kubeconfig"}
            for n in range(1, count + 1)
        ]
        classroom.roster_file().write_text(json.dumps({"context": None, "students": students}))

    return write


def test_links_are_made_once_kept_private_and_open_only_their_own_student(roster):
    roster(2)
    first = links.load()
    assert stat.S_IMODE(links.file().stat().st_mode) == 0o600
    assert len({first.teacher, *(s.secret for s in first.students)}) == 3 and all(
        len(s.secret) >= 24 for s in first.students
    )
    roster(3)  # a student added: the two links handed out stay good
    again = links.load()
    assert [s.secret for s in again.students[:2]] == [s.secret for s in first.students]
    assert again.teacher == first.teacher
    third = again.student(again.students[2].secret)
    assert third is not None and third.namespace == classroom.namespace_of(3)
    assert again.student(again.students[0].secret[:-1]) is None and again.student("") is None
    assert again.student(again.teacher) is None and not again.is_teacher(again.students[0].secret)


def test_no_class_no_links(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE", str(tmp_path))
    with pytest.raises(Exception, match="no class to serve: run scripts/class up --students N first"):
        links.load()


def test_a_link_that_is_not_a_students_opens_nothing(roster, tmp_path):
    roster(2)
    found = links.load()
    klass = server.Class(found, tmp_path / "admin", tmp_path, tmp_path, "127.0.0.1:1", "localhost:5001/x:r1")

    async def ask() -> list[tuple[int, str]]:
        client = TestClient(TestServer(server.make_app(klass)))
        await client.start_server()
        try:
            answers = []
            for path in (
                "/",
                "/s/" + found.students[0].secret[:-1],
                "/s/" + found.teacher,
                "/s/nothing/tty",
                "/s/nothing/state.json",
                "/t/" + found.students[0].secret,
                "/t/nothing/board.json",
                "/s/" + found.students[1].secret,
            ):
                response = await client.get(path)
                answers.append((response.status, await response.text()))
            return answers
        finally:
            await client.close()

    answers = asyncio.run(ask())
    assert answers[:-1] == [(404, server.NOT_YOURS + "\n")] * 7
    status, page = answers[-1]
    assert status == 200 and "cs198-student-02" in page and "{{" not in page


def test_the_terminal_runs_tmux_in_the_students_pod_at_a_sane_size(tmp_path):
    argv = terminal.argv(tmp_path / "k", "cs198-student-04")
    assert argv[argv.index("--kubeconfig") + 1] == str(tmp_path / "k")
    assert argv[argv.index("-n") + 1] == "cs198-student-04" and class_terminal.POD in argv
    assert argv[argv.index("--") + 1 :] == ["tmux", "new-session", "-A", "-s", terminal.SESSION]
    assert terminal.size("120", "40") == (40, 120)
    assert terminal.size("100000", "-3") == (2, terminal.MAX_COLS)
    assert terminal.size("x", "40") == (24, 80)


def test_why_a_terminal_is_not_ready_is_said_and_hopeless_ones_end_the_wait():
    waiting = {"status": {"containerStatuses": [{"ready": False, "state": {"waiting": {"reason": "ErrImagePull",
               "message": "not found"}}}]}}  # fmt: skip
    assert class_terminal.why_not_ready(waiting) == (False, "ErrImagePull: not found")
    unscheduled = {"status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                   "message": "0/3 nodes are available"}]}}  # fmt: skip
    assert class_terminal.why_not_ready(unscheduled) == (False, "not scheduled: 0/3 nodes are available")
    assert class_terminal.why_not_ready({"status": {"phase": "Pending"}}) == (False, "starting (Pending)")
    assert class_terminal.why_not_ready({"status": {"containerStatuses": [{"ready": True}]}}) == (True, "")
    assert server.hopeless("ErrImagePull: not found") and server.hopeless("the terminal pod in x was refused: y")
    assert not server.hopeless("starting (Pending)") and not server.hopeless(class_terminal.NONE_YET)


def test_the_terminal_pod_is_restricted_and_runs_as_the_students_account():
    pod = class_terminal.pod("cs198-student-01", class_fence.ACCOUNT, class_fence.LABEL, class_terminal.image())
    spec, (container,) = pod["spec"], pod["spec"]["containers"]
    assert spec["serviceAccountName"] == class_fence.ACCOUNT and spec["securityContext"]["runAsNonRoot"]
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["image"] == class_terminal.image() and ":latest" not in container["image"]
    assert pod["metadata"]["labels"][class_terminal.LABEL_KEY] == "true"
    assert class_terminal.image().startswith("localhost:5001/cs198-terminal:r")


def test_the_fence_keeps_the_terminal_label_the_teachers_and_makes_room_for_the_pod():
    rules = dict((message, expression) for expression, message in class_fence.VALIDATIONS)
    rule = rules["the class terminal's label is the teacher's to set"]
    assert class_terminal.LABEL_KEY in rule and "system:serviceaccount:" in rule
    lecture = class_fence.footprint()
    hard = class_fence.quota()
    assert int(hard["pods"]) == int(lecture["pods"] * class_fence.HEADROOM + 1)
    assert int(hard["requests.memory"].rstrip("Mi")) >= lecture["requests.memory"] * class_fence.HEADROOM + 48


def test_the_page_checks_the_lectures_kubernetes_steps_a_namespace_can_show():
    assert checks.lecture_steps() == [
        ("deployed", 16),
        ("service", 19),
        ("self-healed", 20),
        ("scaled", 23),
        ("rolled-out", 24),
        ("repaired", 26),
    ]


def test_serve_says_in_one_line_what_is_wrong(roster, tmp_path, monkeypatch):
    from workshop.classweb import serve
    from workshop.cli import WorkshopError
    from workshop.commands import klass

    with pytest.raises(WorkshopError, match=r"--port 70000: give a TCP port between 1 and 65535 \(default 8198\)"):
        klass.main(["serve", "--port", "70000"])
    with pytest.raises(WorkshopError, match="no class to serve: run scripts/class up --students N first"):
        klass.main(["serve", "--address", "127.0.0.1"])
    roster(1)
    with pytest.raises(WorkshopError, match="--address 'laptop' is not an IP address"):
        serve.serve("laptop", serve.PORT)
