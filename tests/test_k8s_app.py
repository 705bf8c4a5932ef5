"""The okpy-mini web tier and grading logic, against a real redis-server (no mocks).

The redis_server fixture here is also used by test_k8s_worker.py.
"""

import ast
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from conftest import need

K8S = Path(__file__).resolve().parent.parent / "k8s_demo"
sys.path.insert(0, str(K8S))

from okpy_mini import grading  # noqa: E402
from okpy_mini.web import STATUS_FIELDS, create_app  # noqa: E402

# What `curl http://.../` prints: the deck's regexes are written against this.
STATUS_TEXT = re.compile(
    r"version: (?P<version>\S+)\n"
    r"pod: (?P<pod>\S+)\n"
    r"redis: (?P<redis>ok|unreachable)\n"
    r"queue: (?P<queue>\d+|n/a)\n"
    r"workers: (?P<workers>\d+|n/a)\n"
    r"submitted: (?P<submitted>\d+|n/a)\n"
    r"graded: (?P<graded>\d+|n/a)\n\Z"
)
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ALL_RIGHT = {q: expected for q, (_, expected) in grading.ANSWER_KEY["hw01"].items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(tmp: Path, bind: str = "127.0.0.1"):
    """A throwaway redis-server on a free port: nothing saved, nothing appended. Returns (process, url)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    need(
        Path(binary).exists(),
        "redis-server",
        "install it (apt-get install redis-server, brew install redis); CI's .ci/run does",
    )
    port = free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            bind,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://{bind}:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return process, url
        except redis.ConnectionError as error:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"redis-server did not start on port {port}") from error
            time.sleep(0.05)


def stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """The URL of a real redis-server, started for this test session and stopped after it."""
    process, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop(process)


@pytest.fixture
def redis_url(redis_server):
    """The session's Redis, emptied before each test."""
    redis.Redis.from_url(redis_server).flushdb()
    return redis_server


@pytest.fixture
def client(redis_url):
    return create_app(redis_url=redis_url, version="v7", pod="ok-web-test-pod").test_client()


def status(client) -> dict:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    match = STATUS_TEXT.fullmatch(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.groupdict()


# ---------------------------------------------------------------- the status page


def test_status_text_for_curl(client):
    assert list(STATUS_FIELDS) == ["version", "pod", "redis", "queue", "workers", "submitted", "graded"]
    assert status(client) == {
        "version": "v7",
        "pod": "ok-web-test-pod",
        "redis": "ok",
        "queue": "0",
        "workers": "0",
        "submitted": "0",
        "graded": "0",
    }


def test_curl_default_accept_gets_text(client):
    response = client.get("/", headers={"Accept": "*/*"})
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True).startswith("version: v7\npod: ok-web-test-pod\n")


def test_a_browser_gets_html_with_the_same_facts(client):
    client.post("/submit", json={"assignment": "hw01", "student": "<b>eve</b>", "answers": ALL_RIGHT})
    response = client.get("/", headers=BROWSER)
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "v7" in page and "ok-web-test-pod" in page
    assert 'id="queue">1<' in page
    assert ">&gt;&gt;&gt; 2 + 3 * 4<" in page, "the questions are shown, escaped"


def test_status_json(client):
    response = client.get("/status")
    assert response.is_json
    assert response.get_json() == {
        "version": "v7",
        "pod": "ok-web-test-pod",
        "redis": "ok",
        "queue": 0,
        "workers": 0,
        "submitted": 0,
        "graded": 0,
    }


def test_version_and_pod_come_from_the_environment(redis_url, monkeypatch):
    monkeypatch.setenv("APP_VERSION", "v2")
    monkeypatch.setenv("POD_NAME", "ok-web-5d9c7b6f4-abcde")
    monkeypatch.setenv("REDIS_URL", redis_url)
    page = status(create_app().test_client())
    assert (page["version"], page["pod"], page["redis"]) == ("v2", "ok-web-5d9c7b6f4-abcde", "ok")


# ---------------------------------------------------------------- submitting


def test_submit_json_queues_one_job(client, redis_url):
    response = client.post("/submit", json={"assignment": "hw01", "student": "alice", "answers": ALL_RIGHT})
    assert response.status_code == 202
    body = response.get_json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["status"] == "queued" and response.headers["Location"] == body["url"]
    assert status(client)["queue"] == "1" and status(client)["submitted"] == "1"
    assert client.get(body["url"]).get_json() == {"id": body["id"], "status": "queued", "result": None}


def test_submit_html_form_redirects_a_browser_home(client):
    form = {"assignment": "lab01", "student": "bob", "q1": "3", "q2": "1", "q3": "False"}
    response = client.post("/submit", data=form, headers=BROWSER)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert status(client)["queue"] == "1"


def test_submit_form_from_curl_gets_json(client):
    response = client.post("/submit", data={"assignment": "lab01", "q1": "3"})
    assert response.status_code == 202 and response.get_json()["assignment"] == "lab01"


@pytest.mark.parametrize(
    "body, message",
    [
        ({"assignment": "hw99", "answers": {"q1": "1"}}, "unknown assignment"),
        ({"assignment": "hw01"}, "answers must be an object"),
        ({"assignment": "hw01", "answers": ["14"]}, "answers must be an object"),
        ({"assignment": "hw01", "answers": {"q9": "1"}}, "no question"),
        ({"assignment": "hw01", "answers": {"q1": 14}}, "must be a string"),
        ({"assignment": "hw01", "answers": {"q1": "x" * 501}}, "at most 500"),
        ({"assignment": "hw01", "student": ["x"], "answers": {"q1": "14"}}, "student"),
        (["hw01"], "JSON object"),
    ],
)
def test_bad_submissions_are_refused_and_not_queued(client, body, message):
    response = client.post("/submit", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert status(client)["queue"] == "0"


def test_a_huge_body_is_refused(client):
    response = client.post("/submit", json={"assignment": "hw01", "answers": {"q1": "x" * 100_000}})
    assert response.status_code == 413


def test_flood_queues_n_sample_submissions(client):
    response = client.post("/demo/flood?n=25")
    assert response.status_code == 202
    assert response.get_data(as_text=True) == "queued: 25\n"
    assert status(client)["queue"] == "25"
    assert status(client)["submitted"] == "25"


@pytest.mark.parametrize("n", ["0", "1001", "many"])
def test_flood_refuses_silly_sizes(client, n):
    assert client.post(f"/demo/flood?n={n}").status_code == 400
    assert status(client)["queue"] == "0"


def test_flood_with_a_wait_then_says_what_is_left_and_by_how_many_workers(client):
    started = time.monotonic()
    response = client.post("/demo/flood?n=7&wait=1")
    assert time.monotonic() - started >= 1.0
    assert response.status_code == 202
    assert response.get_data(as_text=True) == "queued: 7\nqueue: 7\nworkers: 0\n"  # no worker here


@pytest.mark.parametrize("wait", ["21", "-1", "soon"])
def test_flood_refuses_a_silly_wait_and_queues_nothing(client, wait):
    response = client.post(f"/demo/flood?n=3&wait={wait}")
    assert response.status_code == 400 and "wait must be a whole number of seconds" in response.get_data(as_text=True)
    assert status(client)["queue"] == "0"


def test_spread_counts_which_pod_answered_each_new_connection():
    """okpy_mini.spread against a small server that answers as two pods in turn, one connection each."""
    import http.server
    import json
    import threading

    from okpy_mini import spread

    pods = iter(["ok-web-a", "ok-web-b"] * 10)

    class Pods(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"pod": next(pods)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pods)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        lines = spread.spread(f"localhost:{server.server_address[1]}", 6)
    finally:
        server.shutdown()
    assert lines[0] == f"localhost:{server.server_address[1]} is 127.0.0.1"
    assert sorted(lines[1:]) == ["ok-web-a answered 3 of 6", "ok-web-b answered 3 of 6"]


@pytest.mark.parametrize("args", [[], ["ok-web"], ["ok-web", "0"], ["ok-web", "201"], ["ok-web", "x"]])
def test_spread_refuses_bad_arguments_with_its_usage(args, capsys):
    from okpy_mini import spread

    assert spread.main(args) == 2
    assert capsys.readouterr().err.startswith("usage: python -m okpy_mini.spread SERVICE TIMES")


def test_spread_says_in_one_line_when_nothing_answers(capsys):
    from okpy_mini import spread

    assert spread.main([f"127.0.0.1:{free_port()}", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is the Service there and one of its pods ready?" in err


def test_unknown_submission_is_404(client):
    assert client.get("/submissions/0123456789abcdef0123456789abcdef").status_code == 404


# ---------------------------------------------------------------- probes


def test_health_and_ready(client):
    health = client.get("/healthz")
    assert (health.status_code, health.get_data(as_text=True)) == (200, "ok\n")
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_data(as_text=True)) == (200, "ready\n")


def test_not_ready_but_alive_when_redis_goes_away(tmp_path):
    process, url = start_redis(tmp_path)
    client = create_app(redis_url=url, version="v1", pod="p").test_client()
    assert client.get("/readyz").status_code == 200
    stop(process)
    started = time.monotonic()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_data(as_text=True).startswith("not ready: redis unreachable")
    assert time.monotonic() - started < 5, "a probe must answer quickly even when Redis is gone"
    assert client.get("/healthz").status_code == 200, "liveness must not depend on Redis"
    page = status(client)
    assert (page["redis"], page["queue"], page["graded"]) == ("unreachable", "n/a", "n/a")
    response = client.post("/submit", json={"assignment": "hw01", "answers": {"q1": "14"}})
    assert response.status_code == 503 and "redis unreachable" in response.get_json()["error"]


# ---------------------------------------------------------------- grading


def test_grade_all_right():
    assert grading.grade("hw01", ALL_RIGHT) == {
        "assignment": "hw01",
        "score": 4,
        "total": 4,
        "correct": ["q1", "q2", "q3", "q4"],
        "wrong": [],
    }


def test_grade_some_wrong_and_missing():
    result = grading.grade("hw01", {"q1": "14", "q2": "5", "q3": "[0,1,4,9]"})
    assert (result["score"], result["total"]) == (1, 4)
    assert result["wrong"] == ["q2", "q3", "q4"], "q3 lacks spaces inside the list, q4 is missing"


def test_grade_ignores_surrounding_and_repeated_whitespace_only():
    assert grading.grade("hw01", {"q3": "  [0,  1, 4, 9]\n"})["correct"] == ["q3"]
    assert grading.grade("hw01", {"q4": "none"})["correct"] == [], "case matters: None is not none"


def test_grade_unknown_assignment_raises():
    with pytest.raises(KeyError):
        grading.grade("hw99", {})


def test_submitted_code_is_compared_never_run(tmp_path):
    marker = tmp_path / "pwned"
    answers = {
        "q1": f"__import__('pathlib').Path({str(marker)!r}).touch() or 14",
        "q2": "eval('4')",
        "q3": "exec('x = 1')",
        "q4": "None",
    }
    result = grading.grade("hw01", answers)
    assert (result["score"], result["correct"]) == (1, ["q4"])
    assert not marker.exists()


def test_the_app_has_no_way_to_run_text():
    """No eval, exec, compile or __import__ anywhere in okpy_mini: grading is string comparison."""
    forbidden = {"eval", "exec", "compile", "__import__"}
    for source in (K8S / "okpy_mini").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call):
                called = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                assert called not in forbidden, f"{source.name}:{node.lineno} calls {called}"


def test_sample_answers_are_valid_and_varied():
    scores = set()
    for i in range(6):
        for assignment in grading.ANSWER_KEY:
            answers = grading.sample_answers(assignment, i)
            assert set(answers) == set(grading.ANSWER_KEY[assignment])
            scores.add(grading.grade(assignment, answers)["score"])
    assert len(scores) > 1


def test_grade_submission_records_the_result(client, redis_url, monkeypatch):
    """The job function itself, run in-process against real Redis (the worker tests run it in RQ)."""
    monkeypatch.setenv("GRADE_SECONDS", "0")
    monkeypatch.setenv("POD_NAME", "ok-worker-test")
    sid = client.post("/submit", json={"assignment": "hw01", "student": "carol", "answers": ALL_RIGHT}).get_json()["id"]
    submission = {"id": sid, "assignment": "hw01", "student": "carol", "answers": ALL_RIGHT}
    result = grading.grade_submission(submission, connection=redis.Redis.from_url(redis_url))
    assert (result["score"], result["graded_by"], result["student"]) == (4, "ok-worker-test", "carol")
    answer = client.get(f"/submissions/{sid}").get_json()
    assert answer["status"] == "finished" and answer["result"] == result
    assert status(client)["graded"] == "1"
    page = client.get("/", headers=BROWSER).get_data(as_text=True)
    assert sid[:8] in page and "4/4" in page and "carol" in page


def test_recent_results_are_capped(redis_url):
    conn = redis.Redis.from_url(redis_url)
    for i in range(grading.RECENT_KEPT + 5):
        grading.record(conn, {"id": f"{i:032x}", "assignment": "hw01", "score": 1, "total": 4})
    assert conn.llen(grading.RECENT) == grading.RECENT_KEPT
    graded = conn.get(grading.GRADED)
    assert graded is not None and int(graded) == grading.RECENT_KEPT + 5
    assert conn.ttl(grading.RESULT.format(f"{0:032x}")) > 0, "results expire"
