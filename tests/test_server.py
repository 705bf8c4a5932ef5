"""The demo server (docker_demo/server.py): its routes, and the real process it runs as."""

import importlib.util
import os
import platform
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import get_when_listening

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "docker_demo" / "server.py"
GREETING = "Hello from the workshop demo server!"


def load_server():
    """Import server.py from its path (docker_demo is a build context, not a package)."""
    spec = importlib.util.spec_from_file_location("workshop_demo_server", SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_os() -> str:
    """The os line worked out independently of the server: kernel, then distribution or macOS."""
    kernel = f"{platform.system()} {platform.release()}"
    if platform.system() == "Darwin":
        return f"{kernel} (macOS {platform.mac_ver()[0]})"
    for candidate in (Path("/etc/os-release"), Path("/usr/lib/os-release")):
        if candidate.is_file():
            for line in candidate.read_text().splitlines():
                key, _, value = line.partition("=")
                if key == "PRETTY_NAME":
                    return f"{kernel} ({value.strip().strip(chr(34) + chr(39))})"
            break
    return kernel


def expected_answer() -> list[str]:
    return [
        GREETING,
        f"os:       {expected_os()}",
        f"python:   {platform.python_version()}",
        f"hostname: {socket.gethostname()}",
    ]


def check_answer_shape(text: str) -> None:
    """The patterns the deck's rehearsal relies on, one fact per line."""
    lines = text.splitlines()
    assert len(lines) == 4, text
    assert lines[0] == GREETING
    assert re.fullmatch(r"os:       (Linux|Darwin|Windows) \S+( \(.+\))?", lines[1]), lines[1]
    assert re.fullmatch(r"python:   3\.\d+\.\d+\S*", lines[2]), lines[2]
    assert re.fullmatch(r"hostname: \S+", lines[3]), lines[3]


@pytest.fixture(scope="module")
def client():
    app = load_server().app
    app.testing = True
    return app.test_client()


def test_root_names_the_platform_it_runs_on(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    check_answer_shape(text)
    assert text.splitlines() == expected_answer()
    assert text.endswith("\n"), "curl's output should end with a newline"


def test_healthz_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == "ok"


def test_unknown_path_is_404(client):
    assert client.get("/no-such-page").status_code == 404


# --- the real process, as `python docker_demo/server.py` ---------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reset_sigint():
    # A shell starts background jobs with SIGINT ignored, and Python then keeps it ignored;
    # give the server the default disposition a terminal user's Ctrl-C would meet.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_server_process_serves_then_stops_cleanly(signum):
    port = free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, str(SERVER)],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=reset_sigint,
    )
    stdout, stderr = process.stdout, process.stderr
    assert stdout is not None and stderr is not None
    stdout_lines: queue.Queue = queue.Queue()
    stderr_text: list[str] = []
    threading.Thread(target=lambda: list(map(stdout_lines.put, stdout)), daemon=True).start()
    stderr_reader = threading.Thread(target=lambda: stderr_text.extend(stderr), daemon=True)
    stderr_reader.start()
    try:
        deadline = time.monotonic() + 15
        seen: list[str] = []
        while not any(f"Serving on http://0.0.0.0:{port}" in line for line in seen):
            try:
                seen.append(stdout_lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"no ready line within 15 s; stdout so far: {seen}")

        text = get_when_listening(f"http://127.0.0.1:{port}/", 5)
        check_answer_shape(text)
        assert f"python:   {platform.python_version()}" in text.splitlines()

        process.send_signal(signum)
        started = time.monotonic()
        try:
            status = process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server was still running 3 s after {signum.name}")
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert status == 0, f"exit status {status} after {signum.name}; stderr: {''.join(stderr_text)}"
    assert took < 3
    stderr_reader.join(timeout=5)
    assert re.search(r'"GET / HTTP/1\.1" 200', "".join(stderr_text)), "request not logged"


def test_a_taken_port_fails_before_the_ready_line():
    """The deck's ready line means the port is ours: with it taken, the server says so and never
    prints `Serving on` (a leftover server once made a box look ready that was not)."""
    import socket

    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    try:
        done = subprocess.run(
            [sys.executable, str(SERVER)],
            env={**os.environ, "PORT": str(holder.getsockname()[1])},
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        holder.close()
    assert done.returncode != 0
    assert "Serving on" not in done.stdout
