"""The shell every box starts: prompt, working directory, PATH, and kubectl fenced in."""
import http.server
import shutil
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


def test_kubectl_never_reaches_a_decoy_context_in_the_users_kubeconfig(tmp_path):
    need(shutil.which("kubectl") is not None, "kubectl", "install kubectl (see README.md)")
    decoy, ours = api_server(), api_server()
    home = tmp_path / "home"
    kubeconfig(home / ".kube" / "config", "decoy", decoy)
    kubeconfig(tmp_path / "workshop-kubeconfig", "workshop", ours)
    env = {"HOME": str(home), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "WORKSHOP_KUBECONFIG": str(tmp_path / "workshop-kubeconfig")}
    try:
        with ShellSession(env=env) as shell:
            shell.wait_prompt()
            refused = [shell.run(line) for line in (
                "kubectl --context decoy get pods",
                "kubectl --kubeconfig ~/.kube/config get pods",
                "kubectl --server http://127.0.0.1:1 get pods")]
            shell.run("kubectl get pods --request-timeout 5s")
            shell.run("KUBECONFIG=~/.kube/config kubectl get pods --request-timeout 5s")
    finally:
        decoy.shutdown()
        ours.shutdown()
    for status, output in refused:
        assert status == 2 and "only talks to the workshop cluster" in output
    assert decoy.paths == []
    assert any(path.startswith("/api") for path in ours.paths)   # discovery reached the workshop server


def test_kubectl_without_a_workshop_cluster_says_what_to_do(tmp_path):
    need(shutil.which("kubectl") is not None, "kubectl", "install kubectl (see README.md)")
    env = {"HOME": str(tmp_path), "PATH": "/usr/local/bin:/usr/bin:/bin",
           "WORKSHOP_KUBECONFIG": str(tmp_path / "missing")}
    with ShellSession(env=env) as shell:
        shell.wait_prompt()
        status, output = shell.run("kubectl get nodes")
    assert status == 2
    assert output.strip() == "workshop: no workshop cluster yet: run scripts/cluster up (it writes .workshop/kubeconfig)."
