"""The shell every box starts: prompt, working directory, PATH, and kubectl fenced in."""

import http.server
import json
import os
import shutil
import socket
import subprocess
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
    assert output.splitlines() == [
        str(ROOT),
        str(ROOT / ".venv" / "bin" / "python"),
        str(ROOT / ".workshop" / "kubeconfig.fenced"),
        "no history",
    ]


class _RecordingServer(http.server.ThreadingHTTPServer):
    paths: list[str]


class _Recorder(http.server.BaseHTTPRequestHandler):
    server: _RecordingServer

    def do_GET(self):
        self.server.paths.append(self.path)
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}')

    def log_message(self, *args):
        pass


def api_server():
    server = _RecordingServer(("127.0.0.1", 0), _Recorder)
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


def fence_lists():
    from workshop.cluster import kubectl_fence

    return kubectl_fence.read(kubectl_fence.FENCE_FILE.read_text())


@pytest.mark.machine
def test_the_fence_list_is_what_kubectl_itself_defines_today():
    """kubectl-fence.txt is derived from the kubectl the workshop uses, not written by hand: made
    again from that kubectl's own flag definitions, it is the same. A kubectl of another release (a
    presenter's own, on PATH) may define fewer flags, never one the list lacks: a refused flag or
    command missing would pass the fence, and a boolean short flag missing would make the fence read
    the next word as its value and miss a flag there."""
    from workshop.cluster import kubectl, kubectl_fence

    try:
        program = kubectl.program()
    except Exception:
        need(False, "kubectl", "install kubectl (see README.md)")
    derived = kubectl_fence.derive(program)
    lists = fence_lists()
    written = kubectl_fence.FENCE_FILE.read_text()
    if kubectl_fence.render(derived).splitlines()[0] == written.splitlines()[0]:  # the header names the release
        assert lists["refused-long"] == derived.refused_long and lists["refused-short"] == derived.refused_short
        assert lists["boolean-short"] == derived.boolean_short and lists["commands"] == derived.commands
    else:
        for name, found in (
            ("refused-long", derived.refused_long),
            ("refused-short", derived.refused_short),
            ("boolean-short", derived.boolean_short),
            ("commands", derived.commands),
        ):
            assert set(found) <= set(lists[name]), (derived.version, name, sorted(set(found) - set(lists[name])))
    assert {"server", "kubeconfig", "context", "token", "as"} <= set(derived.refused_long)
    assert "kuberc" in lists["refused-long"]  # kubectl 1.33 and later read a kuberc of the user's
    assert "s" in derived.refused_short and {"A", "w"} <= set(derived.boolean_short)


def generated_spellings(url, decoy_file):
    """Every spelling of every refused global flag, made from the fence's own lists: --flag V,
    --flag=V, and for each shorthand -s V, -sV, -s=V and -s run on after one or two boolean ones."""
    lists = fence_lists()
    value = {"server": url, "kubeconfig": decoy_file, "kuberc": decoy_file}
    lines = []
    for name in lists["refused-long"]:
        v = value.get(name, "decoy")
        lines += [f"kubectl get pods --{name} {v}", f"kubectl get pods --{name}={v}", f"kubectl --{name}={v} get pods"]
    for letter in lists["refused-short"]:
        lines += [
            f"kubectl get pods -{letter} {url}",
            f"kubectl get pods -{letter}{url}",
            f"kubectl -{letter}={url} get pods",
        ]
        for first in lists["boolean-short"]:
            lines.append(f"kubectl get pods -{first}{letter} {url}")
            lines += [f"kubectl get pods -{first}{second}{letter} {url}" for second in lists["boolean-short"][:3]]
    # after a flag whose value looks like the end of flags or like a command: pflag takes the next word
    # as that value whatever it is, and goes on reading flags (`-n -- --server URL` sets the server)
    escapes = [f"--{name} {value.get(name, 'decoy')}" for name in lists["refused-long"]]
    escapes += [f"--{name}={value.get(name, 'decoy')}" for name in lists["refused-long"]]
    escapes += [f"-{letter} {url}" for letter in lists["refused-short"]]
    for before in PARSER_TRAPS:
        for escape in escapes:
            lines += [f"kubectl {before} {escape} get pods", f"kubectl get pods {before} {escape}"]
    return lines


# flags that take a value, given one that the shim once read as the end of flags or as a command
PARSER_TRAPS = ("-n --", "--namespace --", "--request-timeout --", "-v --", "-n get", "--namespace config")


@pytest.fixture
def fenced_shell(tmp_path):
    """A workshop shell whose cluster is a recording API server (ours), with a decoy that counts
    connections named by the user's ~/.kube/config, a hostile kuberc there, and KUBECONFIG,
    KUBERC and DOCKER_HOST all pointing at the decoy in the environment the shell starts from."""
    decoy, ours = ConnectionCounter(), api_server()
    home = tmp_path / "home"
    kubeconfig(home / ".kube" / "config", "decoy", type("S", (), {"server_address": ("127.0.0.1", decoy.port)}))
    (home / ".kube" / "kuberc").write_text(f"""apiVersion: kubectl.config.k8s.io/v1beta1
kind: Preference
aliases:
  - name: hostile
    command: get
    prependArgs: [pods, --server, "http://127.0.0.1:{decoy.port}"]
""")
    state = tmp_path / "state"
    kubeconfig(state / "kubeconfig", "workshop", ours)
    real_engine = subprocess.run(
        ["docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    if real_engine:  # what prepare records: the engine that answered then
        (state / "engine-endpoint").write_text(f"DOCKER_HOST={real_engine}\nFROM=context default\n")
    built = ROOT / ".workshop" / "k8s-bin"
    if built.is_dir():
        (state / "k8s-bin").symlink_to(built)
    need(built.is_dir() or shutil.which("kubectl") is not None, "kubectl", "install kubectl (see README.md)")
    env = {
        "HOME": str(home),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "WORKSHOP_STATE": str(state),
        "KUBECONFIG": str(home / ".kube" / "config"),
        "KUBERC": str(home / ".kube" / "kuberc"),
        "WORKSHOP_KUBECONFIG": str(home / ".kube" / "config"),
        "KUBECTL_KUBERC": "true",
        "DOCKER_HOST": f"tcp://127.0.0.1:{decoy.port}",
        "DOCKER_CONTEXT": "decoy",
    }
    try:
        with ShellSession(env=env) as shell:
            shell.wait_prompt()
            yield shell, decoy, ours, state, home
    finally:
        decoy.close()
        ours.shutdown()


@pytest.mark.beside
@pytest.mark.slow
def test_no_spelling_and_no_variable_takes_kubectl_to_a_decoy(fenced_shell):
    shell, decoy, ours, state, home = fenced_shell
    url, other = f"http://127.0.0.1:{decoy.port}", str(home / ".kube" / "config")
    refused = {
        line: shell.run(line, timeout=20)
        for line in generated_spellings(url, other)
        + [
            "kubectl config view --raw",
            "kubectl config view --flatten",
            "kubectl create token default",
            "kubectl -n default create token default",
            "kubectl config use-context decoy",
            "kubectl proxy --address 0.0.0.0",
            "kubectl port-forward --address=0.0.0.0 svc/x 8080:80",
            "kubectl port-forward --address 127.0.0.1,10.0.0.1 svc/x 8080:80",
            "kubectl kuberc set --section defaults",
            "kubectl -n -- config view --raw",
            "kubectl --namespace -- create token default",
            "kubectl -n -- proxy --address 0.0.0.0",
            "kubectl -n config config use-context decoy",
            f"env KUBECONFIG={other} kubectl get pods",
            f"env WORKSHOP_STATE={home} kubectl get pods",
        ]
    }
    read_only = {
        line: shell.run(line, timeout=20)
        for line in (
            f"KUBECONFIG={other} kubectl get pods",
            f"WORKSHOP_KUBECONFIG={other} kubectl get pods",
            f"KUBERC={home}/.kube/kuberc kubectl hostile",
            "KUBECTL_KUBERC=true kubectl hostile",
        )
    }
    allowed = [
        shell.run(line, timeout=20)
        for line in (
            "kubectl config view -o jsonpath='{.current-context}'",
            "kubectl get pods --request-timeout 5s",
            "kubectl hostile",
            f"env HOME={home} kubectl get pods --request-timeout 5s",
            "kubectl exec no-such-pod --request-timeout 5s -- curl -s -s http://example",
            "kubectl get pods -n default -o name --request-timeout 5s",
            # the other variables kubectl (client-go) reads: proxies for its connections, its cache folder
            f"env HTTPS_PROXY={url} HTTP_PROXY={url} ALL_PROXY={url} KUBECACHEDIR={home} kubectl get pods "
            f"--request-timeout 5s",
        )
    ]
    for line, (status, output) in refused.items():
        assert status == 2 and (
            "only talks to the workshop cluster" in output or "only runs in the workshop shell" in output
        ), (line, output)
    for line, (_status, output) in read_only.items():
        assert "readonly variable" in output, (line, output)  # bash says so, and the command runs unchanged
    assert decoy.connections == 0
    assert allowed[0][1].strip() == "workshop"
    assert "unknown command" in allowed[2][1] or "hostile" in allowed[2][1]  # the kuberc's alias was never read
    assert any(path.startswith("/api") for path in ours.paths)  # the allowed ones reached the workshop's server
    assert "only talks to the workshop cluster" not in allowed[4][1]  # flags after -- are the pod's
    assert not (state / "kubeconfig.fenced").stat().st_mode & 0o222  # the copy kubectl reads is read-only
    # the oracle bites: the real kubectl, given one of those spellings without the fence, reaches the decoy
    real = subprocess.run(
        [real_kubectl(state), "-n", "--", "--server", url, "get", "pods", "--request-timeout", "3s"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    assert decoy.connections > 0, real.stderr


def real_kubectl(state) -> str:
    found = sorted((state / "k8s-bin").glob("*/kubectl")) if (state / "k8s-bin").is_dir() else []
    return str(found[-1]) if found else shutil.which("kubectl") or "kubectl"


# docker's global options that pick an engine or a client configuration, with a value that would reach the decoy
DOCKER_REFUSED = {
    "host": "H",
    "context": "c",
    "config": "",
    "tls": "",
    "tlsverify": "",
    "tlscacert": "",
    "tlscert": "",
    "tlskey": "",
}
# options that come before them: another option's value (one that looks like the end of options too), and
# boolean options that one-letter ones run on after
DOCKER_TRAPS = ("", "-D", "--debug", "-l debug", "--log-level debug", "-l --", "--log-level --", "-D -l info")


def docker_spellings(url: str, config: str) -> list[str]:
    """Every spelling docker's parser (pflag) reads as a refused global option: --opt V, --opt=V, -o V, -oV,
    run on after -D, each after every trap."""
    value = {"host": url, "context": "decoy", "config": config}
    lines = []
    for before in DOCKER_TRAPS:
        for name, letter in DOCKER_REFUSED.items():
            v = value.get(name, config)
            forms = [f"--{name} {v}", f"--{name}={v}"] if name not in ("tls", "tlsverify") else [f"--{name}"]
            if letter:
                forms += [f"-{letter} {v}", f"-{letter}{v}", f"-D{letter} {v}"]
            lines += [" ".join(part for part in ("docker", before, form, "ps") if part) for form in forms]
    return lines


@pytest.mark.slow
def test_docker_in_the_box_talks_only_to_the_recorded_engine(fenced_shell, docker):
    shell, decoy, ours, state, home = fenced_shell
    url = f"tcp://127.0.0.1:{decoy.port}"
    answered = shell.run("docker version --format '{{.Server.Version}}'", timeout=30)
    refused = {line: shell.run(line, timeout=20) for line in docker_spellings(url, str(home))}
    read_only = {
        line: shell.run(line, timeout=20) for line in (f"DOCKER_HOST={url} docker ps", "DOCKER_CONTEXT=decoy docker ps")
    }
    through_env = shell.run(
        f"env DOCKER_HOST={url} DOCKER_CONTEXT=decoy docker version --format '{{{{.Server.Version}}}}'", timeout=30
    )
    # a hostile client configuration: its current context is the decoy; and the variables for TLS and proxies
    hostile = home / "docker-config"
    subprocess.run(
        ["docker", "--config", str(hostile), "context", "create", "decoy", "--docker", f"host={url}"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    settings = json.loads((hostile / "config.json").read_text()) if (hostile / "config.json").exists() else {}
    (hostile / "config.json").write_text(json.dumps({**settings, "currentContext": "decoy"}))
    through_config = [
        shell.run(line, timeout=30)
        for line in (
            f"env DOCKER_CONFIG={hostile} docker version --format '{{{{.Server.Version}}}}'",
            f"env HTTPS_PROXY={url} HTTP_PROXY={url} ALL_PROXY={url} docker version --format '{{{{.Server.Version}}}}'",
            f"env DOCKER_CERT_PATH={hostile} DOCKER_TLS_VERIFY=1 docker ps",
        )
    ]
    assert answered[0] == 0 and answered[1].strip(), answered
    for line, (status, output) in refused.items():
        assert status == 2 and "only talks to the workshop's engine" in output, (line, output)
    for line, (_status, output) in read_only.items():
        assert "readonly variable" in output, (line, output)  # bash says so, and the command runs unchanged
    assert through_env[0] == 0 and through_env[1].strip() == answered[1].strip(), through_env
    for status, output in through_config[:2]:
        assert status == 0 and output.strip() == answered[1].strip(), output
    assert decoy.connections == 0
    # the oracle bites: the real docker, given one of those spellings without the fence, reaches the decoy
    real = subprocess.run([docker, "-l", "debug", "-H", url, "version"], capture_output=True, text=True, timeout=30)
    assert decoy.connections > 0, real.stderr


@pytest.mark.machine
def test_kubectl_without_a_workshop_cluster_says_what_to_do(tmp_path):
    need(shutil.which("kubectl") is not None, "kubectl", "install kubectl (see README.md)")
    env = {"HOME": str(tmp_path), "PATH": "/usr/local/bin:/usr/bin:/bin", "WORKSHOP_STATE": str(tmp_path / "state")}
    with ShellSession(env=env) as shell:
        shell.wait_prompt()
        status, output = shell.run("kubectl get nodes")
    assert status == 2
    assert (
        output.strip() == "workshop: no workshop cluster yet: run scripts/cluster up (it writes .workshop/kubeconfig)."
    )


def test_a_docker_command_with_no_engine_says_to_run_prepare_engine(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "engine-endpoint").write_text(f"DOCKER_HOST=unix://{tmp_path}/no-engine.sock\nFROM=test\n")
    env = {**os.environ, "WORKSHOP_STATE": str(tmp_path / "state")}
    with ShellSession(env=env) as shell:
        shell.wait_prompt()
        status, output = shell.run("docker ps", timeout=30)
        ok_status, ok_output = shell.run("docker --version", timeout=30)  # a client-only command passes quietly
    assert status != 0
    assert output.strip().splitlines()[-1] == (
        "workshop: the Docker engine is not answering: run scripts/prepare "
        "engine (or start Docker Desktop), then run the box again."
    )
    assert ok_status == 0 and "workshop:" not in ok_output


def test_the_docs_promise_what_the_fences_say_and_no_more():
    """The fence section of docs/machine.md uses the refusal words the shims print, and says what it does not stop."""
    readme = (ROOT / "docs" / "machine.md").read_text()
    section = readme[readme.index("### What the fence promises") :]
    section = " ".join(section[: section.index("\n## ")].split())
    kubectl_shim = (ROOT / "scripts" / "shell-bin" / "kubectl").read_text()
    docker_shim = (ROOT / "scripts" / "shell-bin" / "docker").read_text()
    assert "kubectl here only talks to the workshop cluster" in kubectl_shim
    assert "docker here only talks to the workshop's engine" in docker_shim
    assert "kubectl here only talks to the workshop cluster" in section
    assert "docker here only talks to the workshop's engine" in section
    assert "stops accidents, not a person set on leaving it" in section
    assert "stops accidents, not a person set on leaving" in kubectl_shim + docker_shim
