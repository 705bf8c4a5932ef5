"""The shell every box starts: prompt, working directory, PATH, and kubectl fenced in."""
import http.server
import os
import shutil
import socket
import threading

import pytest

from conftest import need
from workshop.deck import reader as deck
from workshop.names import PROMPT
from workshop.paths import DECK, ROOT
from workshop.rehearsal.terminal import ShellSession

BOXES = list(deck.read(DECK).boxes())


@pytest.mark.parametrize("box", BOXES, ids=[b.label for b in BOXES])
def test_each_box_shell_starts_and_shows_the_prompt(box):
    with ShellSession(box.command, rows=box.rows, cwd=ROOT) as shell:
        shell.wait_prompt(timeout=10)
        assert shell.raw.rstrip().endswith(PROMPT.rstrip())


def test_working_directory_is_the_repository_whatever_the_launch_directory(tmp_path):
    with ShellSession(str(ROOT / "scripts" / "workshop-shell"), cwd=tmp_path) as shell:
        shell.wait_prompt()
        status, output = shell.run("pwd; command -v python; echo $KUBECONFIG; echo ${HISTFILE:-no history}")
    assert status == 0
    assert output.splitlines() == [str(ROOT), str(ROOT / ".venv" / "bin" / "python"),
                                   str(ROOT / ".workshop" / "kubeconfig"), "no history"]


class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.paths.append(self.path)
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}')

    def log_message(self, *args):
        pass


def api_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.paths = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def kubeconfig(path, context, server):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: {context}, cluster: {{server: "http://127.0.0.1:{server.server_address[1]}"}}}}]
users: [{{name: {context}, user: {{token: not-a-secret}}}}]
contexts: [{{name: {context}, context: {{cluster: {context}, user: {context}}}}}]
current-context: {context}
""")


class ConnectionCounter:
    """A listener on loopback that only counts the TCP connections it gets (the decoy cluster)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self):
        self.sock.close()


# every way of pointing kubectl somewhere else, each of which the fence must refuse
REFUSED = [
    "kubectl --context decoy get pods", "kubectl --context=decoy get pods",
    "kubectl --kubeconfig ~/.kube/config get pods", "kubectl --kubeconfig=$HOME/.kube/config get pods",
    "kubectl --cluster decoy get pods", "kubectl --cluster=decoy get pods",
    "kubectl --user decoy get pods", "kubectl --user=decoy get pods",
    "kubectl --server http://127.0.0.1:{port} get pods", "kubectl --server=http://127.0.0.1:{port} get pods",
    "kubectl -s http://127.0.0.1:{port} get pods", "kubectl -s=http://127.0.0.1:{port} get pods",
    "kubectl -shttp://127.0.0.1:{port} get pods", "kubectl get pods -s http://127.0.0.1:{port}",
    "kubectl --token t get pods", "kubectl --token=t get pods", "kubectl --username u --password p get pods",
    "kubectl --client-certificate /dev/null get pods", "kubectl --client-key=/dev/null get pods",
    "kubectl --certificate-authority /dev/null get pods", "kubectl --insecure-skip-tls-verify get pods",
    "kubectl --insecure-skip-tls-verify=true get pods", "kubectl --tls-server-name x get pods",
    "kubectl --as admin get pods", "kubectl --as-group system:masters get pods",
    "kubectl config use-context decoy", "kubectl config set-context workshop --cluster decoy",
    "kubectl config set clusters.workshop.server http://127.0.0.1:{port}",
    "kubectl config set-cluster workshop --server http://127.0.0.1:{port}", "kubectl config delete-context workshop",
    "kubectl config rename-context workshop other", "kubectl config unset current-context",
]


def test_kubectl_never_reaches_a_decoy_whatever_the_spelling(tmp_path):
    decoy, ours = ConnectionCounter(), api_server()
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: decoy, cluster: {{server: "http://127.0.0.1:{decoy.port}"}}}}]
users: [{{name: decoy, user: {{token: not-a-secret}}}}]
contexts: [{{name: decoy, context: {{cluster: decoy, user: decoy}}}}]
current-context: decoy
""")
    workshop_file = tmp_path / "workshop-kubeconfig"
    kubeconfig(workshop_file, "workshop", ours)
    before = workshop_file.read_text()
    env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin", "WORKSHOP_KUBECONFIG": str(workshop_file),
           "WORKSHOP_STATE": str(ROOT / ".workshop")}
    need(any((ROOT / ".workshop").glob("k8s-bin/*/kubectl")) or shutil.which("kubectl") is not None, "kubectl",
         "install kubectl (see README.md)")
    try:
        with ShellSession(env=env) as shell:
            shell.wait_prompt()
            refused = {line: shell.run(line.format(port=decoy.port)) for line in REFUSED}
            allowed = [shell.run(line) for line in (
                "kubectl config view -o jsonpath='{.current-context}'", "kubectl config get-contexts -o name",
                "kubectl get pods --request-timeout 5s",
                "KUBECONFIG=~/.kube/config kubectl get pods --request-timeout 5s",
                "kubectl exec no-such-pod --request-timeout 5s -- curl -s http://example")]
    finally:
        decoy.close()
        ours.shutdown()
    for line, (status, output) in refused.items():
        assert status == 2 and "only talks to the workshop cluster" in output, (line, output)
    assert decoy.connections == 0
    assert workshop_file.read_text() == before                   # nothing rewrote the workshop's file
    assert allowed[0][1].strip() == "workshop" and allowed[1][1].split() == ["workshop"]
    assert any(path.startswith("/api") for path in ours.paths)   # the allowed ones reached the workshop server
    assert "only talks to the workshop cluster" not in allowed[4][1]   # flags after -- are the pod's


def test_kubectl_without_a_workshop_cluster_says_what_to_do(tmp_path):
    need(shutil.which("kubectl") is not None, "kubectl", "install kubectl (see README.md)")
    env = {"HOME": str(tmp_path), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "WORKSHOP_KUBECONFIG": str(tmp_path / "missing")}
    with ShellSession(env=env) as shell:
        shell.wait_prompt()
        status, output = shell.run("kubectl get nodes")
    assert status == 2
    assert output.strip() == "workshop: no workshop cluster yet: run scripts/cluster up (it writes .workshop/kubeconfig)."


def test_a_docker_command_with_no_engine_says_to_run_prepare_engine(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    with ShellSession(env=env) as shell:
        shell.wait_prompt()
        status, output = shell.run("docker ps", timeout=30)
        ok_status, ok_output = shell.run("docker --version", timeout=30)    # a client-only command passes quietly
    assert status != 0
    assert output.strip().splitlines()[-1] == ("workshop: the Docker engine is not answering: run scripts/prepare "
                                               "engine (or start Docker Desktop), then run the box again.")
    assert ok_status == 0 and "workshop:" not in ok_output
