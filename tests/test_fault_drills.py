"""Fault drills against the real parts: what goes wrong in front of a class ends in one clear line
with the fix, and leaves nothing behind (no container, no process, the user's own server alive)."""

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest

from conftest import need, run_command
from workshop.deck import reader
from workshop.machine import app_images, ports, processes, registry
from workshop.paths import DECK, ROOT

DECK_MODEL = reader.read(DECK)


def rehearse(*args, env=None):
    return run_command("rehearse", *args, timeout=300, env=env)


def slide_of(command_start):
    return next(box.slide for box in DECK_MODEL.boxes() if (box.typed or "").startswith(command_start))


def fix_lines(output):
    return [line.strip() for line in output.splitlines() if line.strip().startswith("fix: ")]


@pytest.fixture
def users_server():
    """The user's own web server, on a port the deck wants; it must survive whatever the deck does."""
    servers = []

    def start(port):
        need(not ports.busy(port), f"port {port} free for the drill", f"stop what listens on port {port}")
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "0.0.0.0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append(server)
        deadline = time.monotonic() + 10
        while not ports.busy(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        return server

    yield start
    for server in servers:
        server.terminate()
        server.wait(10)


@pytest.mark.slow
def test_a_users_server_on_8000_fails_the_container_box_naming_it(docker, users_server):
    server = users_server(8000)
    done = rehearse("--slides", str(slide_of("docker run -it --rm --name workshop-demo -p 8000:3000")))
    assert done.returncode == 1
    name = psutil.Process(server.pid).name()
    assert (
        f"fix: port 8000 is taken by {name} (pid {server.pid}), not by the deck: stop it (kill {server.pid}), "
        f"then run the box again" in fix_lines(done.stdout)
    ), done.stdout
    assert server.poll() is None  # the user's server is untouched
    left = subprocess.run(["docker", "ps", "-aq", "--filter", "name=^workshop-demo$"], capture_output=True, text=True)
    assert left.stdout.strip() == ""  # and no container of the deck is left


@pytest.mark.slow
@pytest.mark.cluster
def test_a_users_server_on_8080_fails_the_port_forward_box_naming_it(workshop_cluster, users_server):
    forward = slide_of("kubectl port-forward service/ok-web 8080:80")
    deploy, clean = slide_of("kubectl apply -f k8s_demo"), slide_of("kubectl delete -f k8s_demo")
    server = users_server(8080)
    tag = uuid.uuid4().hex  # the processes of this rehearsal carry it (the class lane runs port-forwards too)
    began = time.monotonic()
    done = rehearse("--slides", f"{deploy},{forward},{clean}", env={"WORKSHOP_E2E_TAG": tag})
    seconds = time.monotonic() - began
    assert done.returncode == 1, done.stdout
    name = psutil.Process(server.pid).name()
    assert (
        f"fix: port 8080 is taken by {name} (pid {server.pid}), not by the deck: stop it (kill {server.pid}), "
        f"then run the box again" in fix_lines(done.stdout)
    ), done.stdout
    assert seconds < 120, done.stdout  # named at once, not after a timeout
    assert server.poll() is None  # the user's server is untouched
    assert not [pid for pid in processes.with_environment("WORKSHOP_E2E_TAG", tag) if "port-forward" in command_of(pid)]


def command_of(pid: int) -> list[str]:
    try:
        return psutil.Process(pid).cmdline()
    except psutil.NoSuchProcess:
        return []


class SocketProxy:
    """A unix socket that forwards to the real engine's, so that 'the engine stops' can be played
    without stopping the engine everyone else on this machine uses."""

    def __init__(self, path: Path, target: str):
        self.path, self.target = path, target
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen(16)
        self.open: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        """The engine 'stops': the socket goes away and every open connection is cut."""
        self.listener.close()
        for end in self.open:
            try:
                end.close()
            except OSError:
                pass
        self.path.unlink(missing_ok=True)


def tiny_deck(title, *boxes):
    """A deck of one slide whose boxes run these (command, need) pairs."""
    text = f"---\ntitle: {title}\ndate: 2026-01-01\nextensions: [terminal, file_loader]\n---\n\n# {title}\n"
    for command, need_of_box in boxes:
        text += (
            f"\n```terminal-ex\ncommand: scripts/workshop-shell\nrows: 4\ninit_text: {command}\n"
            f"init_wait: 'workshop$ '\ninit_codeblock: false\n```\n[rehearse]: # \"needs: {need_of_box}\"\n"
        )
    return text


@pytest.mark.slow
def test_the_engine_stopping_mid_deck_says_to_run_prepare_engine(docker, tmp_path):
    target = "/var/run/docker.sock"
    need(os.path.exists(target), "the engine's socket at /var/run/docker.sock", "run scripts/prepare engine")
    proxy = SocketProxy(tmp_path / "docker.sock", target)
    marker = tmp_path / "first-box-ran"
    deck = tmp_path / "deck.md"
    deck.write_text(
        tiny_deck(
            "the engine stops",
            (f"docker version --format '{{{{.Server.Version}}}}' && touch {marker} && sleep 3", "docker"),
            ("docker ps", "docker"),
        )
    )
    state = tmp_path / "state"  # a checkout whose recorded engine is the proxy
    state.mkdir()
    (state / "engine-endpoint").write_text(f"DOCKER_HOST=unix://{proxy.path}\nFROM=the test's proxy\n")
    child = subprocess.Popen(
        [sys.executable, "-m", "workshop.commands.rehearse", "--deck", str(deck)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "WORKSHOP_STATE": str(state)},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the first box never ran"
        proxy.stop()  # the engine goes away during the first box
        output, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 1, output
    assert fix_lines(output) == [
        "fix: the Docker engine stopped answering: start Docker (Docker Desktop), or run scripts/prepare engine"
    ], output
    assert "Traceback" not in output


@pytest.mark.cluster_alone
@pytest.mark.slow
def test_the_registry_stopping_says_to_run_prepare_registry(docker, tmp_path):
    need(registry.status() and registry.ours(), "the registry this checkout started", "run scripts/prepare registry")
    deck = tmp_path / "deck.md"
    deck.write_text(tiny_deck("the registry stops", ("curl -sf --noproxy '*' http://localhost:5001/v2/", "registry")))
    assert rehearse("--deck", str(deck)).returncode == 0  # with the registry up, the box passes
    try:
        registry.down()
        # the up-front check stops at once with the fix (no box is run)
        began = time.monotonic()
        done = rehearse("--deck", str(deck))
        assert time.monotonic() - began < 5
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.strip() == (
            "rehearse: the local registry does not answer on localhost:5001: run scripts/"
            "prepare registry app-images, or leave those boxes out with --without registry"
        )
    finally:  # the fix it gave, as the presenter would run it
        fixed = subprocess.run(
            [str(ROOT / "scripts" / "prepare"), "registry", "app-images"], capture_output=True, text=True, timeout=600
        )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert registry.status()
    lecture = [image for image in app_images.manifest_images() if image.startswith(registry.ADDRESS + "/")]
    assert lecture and all(app_images.in_registry(image) for image in lecture)  # the lecture's images are back
    networks = subprocess.run(
        ["docker", "inspect", "-f", "{{json .NetworkSettings.Networks}}", registry.CONTAINER],
        capture_output=True,
        text=True,
    ).stdout
    kind_up = subprocess.run(["docker", "network", "inspect", "kind"], capture_output=True).returncode == 0
    assert ('"kind"' in networks) == kind_up  # started again, it is back where kind's nodes reach it
