"""A class of five on the real workshop cluster: each student's kubeconfig reaches their own namespace
and nothing else. Isolation is proven with real requests: `kubectl auth can-i`, real attempts, the
quota and LimitRange refusing, a NetworkPolicy dropping real TCP connections, and the lecture's own
manifests running under Pod Security `restricted`. A namespace the class did not make survives down."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time

import pytest

from conftest import need
from second_laptop import HOST_ADDRESS, LAPTOP_ADDRESS, SecondLaptop
from workshop import names
from workshop.cli import WorkshopError
from workshop.cluster import class_door, class_fence, classroom, kubectl
from workshop.deck import reader
from workshop.machine import app_images
from workshop.paths import ROOT
from workshop.rehearsal import needs

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.classroom]  # the class lane (conftest)
STUDENTS = 5
DECOY = classroom.namespace_of(STUDENTS + 2)  # made by "someone else" before the class
DECOY_ROLE = classroom.NODE_VIEWER + "-mine"


def as_student(number: int, *args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    config = classroom.class_dir() / f"{classroom.namespace_of(number)}.kubeconfig"
    return subprocess.run(
        [kubectl.program(), "--kubeconfig", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def laptop():
    """A student's laptop: another machine on the class's network (tests/second_laptop.py)."""
    need(os.geteuid() == 0 and shutil.which("ip") is not None, "a network namespace (root and ip)", "run as root")
    with SecondLaptop() as machine:
        yield machine
    assert machine.leftovers() == []


@pytest.fixture(scope="module")
def klass(workshop_cluster, laptop):
    kubectl.run("wait", "--for=delete", f"namespace/{DECOY}", "--timeout=180s", check=False, timeout=200)  # a bench's
    try:
        kubectl.run("create", "namespace", DECOY)
        # a cluster-wide decoy with the class's label and a name that starts like the class's
        kubectl.run("create", "clusterrole", DECOY_ROLE, "--verb=get", "--resource=nodes")
        kubectl.run("label", "clusterrole", DECOY_ROLE, "app.kubernetes.io/part-of=cs198-workshop-class")
        try:
            yield classroom.up(STUDENTS, say=lambda _: None, address=HOST_ADDRESS)
        finally:
            said = classroom.down(say=lambda _: None)
        assert said.startswith("removed the class: "), said
        deadline = time.monotonic() + 120
        while (
            any(
                kubectl.run(
                    "get", "namespace", classroom.namespace_of(n), "--ignore-not-found", "-o", "name"
                ).stdout.strip()
                for n in range(1, STUDENTS + 2)
            )
            and time.monotonic() < deadline
        ):
            time.sleep(2)
        assert kubectl.run("get", "namespace", DECOY, "-o", "name").stdout.strip() == f"namespace/{DECOY}"
        assert not list(classroom.class_dir().glob("*.kubeconfig")) and not classroom.roster_file().exists()
        assert (
            class_door.ours() is None
            and not subprocess.run(
                ["docker", "ps", "-aq", "--filter", f"name=^{class_door.CONTAINER}$"], capture_output=True, text=True
            ).stdout.strip()
        )
        left = kubectl.run("get", "clusterroles,clusterrolebindings", "-o", "name").stdout.split()
        assert [name for name in left if "cs198" in name] == [f"clusterrole.rbac.authorization.k8s.io/{DECOY_ROLE}"]
    finally:
        kubectl.run("delete", "namespace", DECOY, "--timeout=120s", check=False, timeout=150)
        kubectl.run("delete", "clusterrole", DECOY_ROLE, "--ignore-not-found", check=False)


def test_a_class_taken_down_can_be_made_again_at_once(workshop_cluster):
    """Runs before the module's class exists: down leaves namespaces Terminating for a while, and an up
    right after waits for them instead of calling them someone else's."""
    classroom.up(2, say=lambda _: None)
    classroom.down(say=lambda _: None)
    said: list[str] = []
    try:
        assert len(classroom.up(2, say=said.append)) == 2
    finally:
        classroom.down(say=lambda _: None)
    assert any("waiting for the one being deleted to go" in line for line in said), said
    # an address that is not this machine's: one line that says what to check, and nothing handed out
    not_here = (  # docker refuses to bind it; or, with Docker's userland proxy off, nothing answers there
        f"could not publish the cluster at {LAPTOP_ADDRESS}:6443 .*is {LAPTOP_ADDRESS} an address of this machine"
        f"|does not answer at https://{LAPTOP_ADDRESS}:6443 .*check that {LAPTOP_ADDRESS} is this machine's address"
    )
    with pytest.raises(WorkshopError, match=not_here):
        classroom.up(2, say=lambda _: None, address=LAPTOP_ADDRESS)
    assert class_door.ours() is None and not classroom.roster_file().exists()
    default = class_door.default_address()  # printed, so that the teacher can check it
    assert f"students reach the cluster at https://{default}:{class_door.PORT} (this machine's address on its " in (
        "\n".join(said)
    ), said


def pod(name: str, command: list, memory: str = "32Mi", labels: dict | None = None) -> str:
    image = next(i for i in app_images.manifest_images() if "/redis:" in i)
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {
                "restartPolicy": "Never",
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 999,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [
                    {
                        "name": "main",
                        "image": image,
                        "command": command,
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                        "resources": {
                            "requests": {"cpu": "10m", "memory": memory},
                            "limits": {"cpu": "100m", "memory": memory},
                        },
                    }
                ],
            },
        }
    )


def test_each_kubeconfig_is_private_and_names_its_own_namespace(klass):
    assert len(klass) == STUDENTS
    for entry in klass:
        path = classroom.class_dir() / f"{entry['namespace']}.kubeconfig"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert (
            as_student(entry["student"], "config", "view", "-o", "jsonpath={.contexts[0].context.namespace}").stdout
            == entry["namespace"]
        )
    assert stat.S_IMODE(classroom.roster_file().stat().st_mode) == 0o600
    # a student may not read kube-system: the cluster is told by the authority its certificate is checked with
    seen = {kubectl.identity(classroom.class_dir() / f"{entry['namespace']}.kubeconfig") for entry in klass}
    assert len(seen) == 1, seen
    (only,) = seen
    assert only is not None and only.uid.startswith("ca-"), seen


def test_a_student_may_edit_their_namespace_and_nothing_else(klass):
    other = classroom.namespace_of(2)
    for question in (["create", "deployments"], ["list", "nodes"]):  # nodes: the deck's `kubectl get nodes`
        allowed = as_student(1, "auth", "can-i", *question)
        assert allowed.stdout.strip() == "yes", (question, allowed.stdout + allowed.stderr)
    for question in (
        ["get", "pods", "-n", other],
        ["create", "namespaces"],
        ["create", "clusterroles"],
        ["delete", "nodes"],
        ["patch", "nodes"],
        ["create", "clusterrolebindings"],
        ["create", "rolebindings", "-n", other],
        ["get", "secrets", "-n", other],
    ):
        answer = as_student(1, "auth", "can-i", *question)
        assert answer.stdout.strip() == "no", (question, answer.stdout)
    for attempt in (
        ["get", "pods", "-n", other],
        ["create", "namespace", "mine"],
        ["delete", "resourcequota", "student"],
        ["label", "namespace", classroom.namespace_of(1), "x=y"],
    ):
        done = as_student(1, *attempt)
        assert done.returncode != 0 and "forbidden" in done.stderr.lower(), (attempt, done.stderr)


def test_the_limit_range_and_the_quota_refuse_what_is_too_big(klass):
    too_big = as_student(3, "apply", "-f", "-", stdin=pod("greedy", ["sleep", "60"], memory="600Mi"))
    assert too_big.returncode != 0 and "maximum memory usage per Container is 512Mi" in too_big.stderr, too_big.stderr
    made, refused = 0, None
    for n in range(6):  # 400Mi each against the namespace's requests quota
        done = as_student(3, "apply", "-f", "-", stdin=pod(f"big-{n}", ["sleep", "60"], memory="400Mi"))
        if done.returncode != 0:
            refused = done.stderr
            break
        made += 1
    assert refused is not None and "exceeded quota" in refused, refused
    assert made * 400 <= int(classroom.quota()["requests.memory"].rstrip("Mi")) < (made + 1) * 400


def test_another_namespace_is_out_of_reach_over_the_network(klass):
    server = as_student(
        2, "apply", "-f", "-", stdin=pod("server", ["redis-server", "--protected-mode", "no"], labels={"app": "server"})
    )
    assert server.returncode == 0, server.stderr
    assert as_student(2, "wait", "pod/server", "--for=condition=Ready", "--timeout=120s", timeout=150).returncode == 0
    address = as_student(2, "get", "pod", "server", "-o", "jsonpath={.status.podIP}").stdout
    loop = f"for i in 1 2 3; do timeout 3 redis-cli -h {address} ping || echo BLOCKED; sleep 1; done"
    results = {}
    for number in (2, 4):  # the same namespace, then another student's
        assert as_student(number, "apply", "-f", "-", stdin=pod("client", ["sh", "-c", loop])).returncode == 0
        as_student(
            number, "wait", "pod/client", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s", timeout=150
        )
        results[number] = as_student(number, "logs", "client").stdout.split()
    assert results[2] == ["PONG"] * 3 and results[4] == ["BLOCKED"] * 3, results


@pytest.fixture(scope="module")
def probe(klass):
    """A pod of student 1's, made with student 1's kubeconfig, to try things from; and a Redis of the
    teacher's, in the lecture's own namespace, for it to try to reach."""
    made = as_student(1, "apply", "-f", "-", stdin=pod("probe", ["sleep", "3600"]))
    assert made.returncode == 0, made.stderr
    teacher = json.loads(pod("teacher-redis", ["redis-server", "--protected-mode", "no"]))
    teacher["metadata"]["namespace"] = names.namespace()
    kubectl.run("apply", "-f", "-", stdin=json.dumps(teacher))
    try:
        kubectl.run(
            "wait", "-n", names.namespace(), "pod/teacher-redis", "--for=condition=Ready", "--timeout=120s", timeout=150
        )
        assert (
            as_student(1, "wait", "pod/probe", "--for=condition=Ready", "--timeout=120s", timeout=150).returncode == 0
        )
        yield kubectl.run(
            "get", "pod", "-n", names.namespace(), "teacher-redis", "-o", "jsonpath={.status.podIP}"
        ).stdout
    finally:
        kubectl.run("delete", "pod", "-n", names.namespace(), "teacher-redis", "--wait=false", check=False)
        as_student(1, "delete", "pod", "probe", "--wait=false")


def from_probe(*command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return as_student(1, "exec", "probe", "--", *command, timeout=timeout)


def reaches(address: str, port: int) -> bool:
    """Does a TCP connection from student 1's pod to address:port open within 3 s?"""
    return from_probe("timeout", "3", "bash", "-c", f"exec 3<>/dev/tcp/{address}/{port}").returncode == 0


def test_a_students_pods_reach_their_namespace_and_dns_and_nothing_else(probe):
    """The teacher's Redis (PING answered PONG before the egress fence), the registry the nodes pull from
    (it took a PUT before), a node's kubelet and the API server: all out of reach from a student's pod;
    the cluster's DNS still answers, and a pod of the student's own namespace is still reached."""
    teacher = probe
    assert (
        kubectl.run("exec", "-n", names.namespace(), "teacher-redis", "--", "redis-cli", "ping").stdout.strip()
        == "PONG"
    )
    assert not reaches(teacher, 6379)
    answer = from_probe("timeout", "5", "redis-cli", "-h", teacher, "ping")
    assert "PONG" not in answer.stdout, answer.stdout
    registry_ip = subprocess.run(
        ["docker", "inspect", "-f", "{{.NetworkSettings.Networks.kind.IPAddress}}", "workshop-registry"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    assert registry_ip and not reaches(registry_ip, 5000)
    # another node's kubelet: a pod's own node is always reachable from it (NetworkPolicy leaves the traffic
    # of a pod's own node alone), and its kubelet asks for credentials a student's token does not carry
    own_node = as_student(1, "get", "pod", "probe", "-o", "jsonpath={.spec.nodeName}").stdout
    other = next(n for n in ("workshop-worker", "workshop-worker2") if n != own_node)
    node_ip = kubectl.run(
        "get", "node", other, "-o", "jsonpath={.status.addresses[?(@.type=='InternalIP')].address}"
    ).stdout
    assert own_node and node_ip and not reaches(node_ip, 10250)
    assert not reaches("10.96.0.1", 443)
    resolved = from_probe("getent", "hosts", "kubernetes.default.svc.cluster.local")
    assert resolved.returncode == 0 and "10.96.0.1" in resolved.stdout, resolved.stdout + resolved.stderr
    own = as_student(1, "get", "pod", "probe", "-o", "jsonpath={.status.podIP}").stdout
    server = as_student(1, "apply", "-f", "-", stdin=pod("own-redis", ["redis-server", "--protected-mode", "no"]))
    assert server.returncode == 0 and own
    try:
        as_student(1, "wait", "pod/own-redis", "--for=condition=Ready", "--timeout=120s", timeout=150)
        address = as_student(1, "get", "pod", "own-redis", "-o", "jsonpath={.status.podIP}").stdout
        assert reaches(address, 6379)
    finally:
        as_student(1, "delete", "pod", "own-redis", "--wait=false")


def daemon_set() -> str:
    body = json.loads(pod("ds", ["sleep", "60"]))
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "everywhere"},
            "spec": {
                "selector": {"matchLabels": {"app": "everywhere"}},
                "template": {"metadata": {"labels": {"app": "everywhere"}}, "spec": body["spec"]},
            },
        }
    )


def service(name: str, **spec) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}], **spec},
        }
    )


def test_the_api_refuses_what_would_reach_past_a_students_namespace(klass):
    """Each of these worked with the built-in edit role; each is refused now, by the Role, the quota or the
    class's ValidatingAdmissionPolicy, with a message that says which."""
    refused = {
        "delete the network fence": as_student(1, "delete", "networkpolicy", "--all"),
        "a NodePort": as_student(1, "apply", "-f", "-", stdin=service("np", type="NodePort")),
        "a LoadBalancer": as_student(1, "apply", "-f", "-", stdin=service("lb", type="LoadBalancer")),
        "externalIPs": as_student(1, "apply", "-f", "-", stdin=service("ext", externalIPs=["10.96.0.1"])),
        "a DaemonSet": as_student(1, "apply", "-f", "-", stdin=daemon_set()),
        "an Ingress": as_student(1, "create", "ingress", "ing", "--rule=teacher.example/=ok-web:80"),
        "a PodDisruptionBudget": as_student(1, "create", "pdb", "pdb", "--selector=app=x", "--min-available=1"),
        "a volume claim": as_student(
            1,
            "create",
            "-f",
            "-",
            stdin=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "fill"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ),
        ),
    }
    for spec, what in (
        (
            {
                "affinity": {
                    "podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [
                            {"topologyKey": "kubernetes.io/os", "labelSelector": {}, "namespaceSelector": {}}
                        ]
                    }
                }
            },
            "an anti-affinity against every namespace's pods",
        ),
        (
            {
                "containers": [
                    {
                        **json.loads(pod("x", ["true"]))["spec"]["containers"][0],
                        "image": "docker.io/library/busybox:1.37",
                    }
                ]
            },
            "an image from elsewhere",
        ),
        ({"priorityClassName": "system-node-critical"}, "a priority class"),
        ({"nodeName": "workshop-control-plane"}, "a node of its choosing"),
        ({"tolerations": [{"operator": "Exists"}]}, "every taint tolerated"),
    ):
        body = json.loads(pod(f"p-{len(refused)}", ["sleep", "60"]))
        body["spec"].update(spec)
        refused[what] = as_student(1, "apply", "-f", "-", stdin=json.dumps(body))
    for what, done in refused.items():
        said = (done.stdout + done.stderr).lower()
        assert done.returncode != 0 and ("forbidden" in said or "denied" in said or "exceeded quota" in said), (
            what,
            said,
        )
    made = 0  # objects by the thousand would fill the API server's store, the whole class's
    for n in range(12):
        done = as_student(1, "create", "configmap", f"many-{n}", "--from-literal=x=y")
        if done.returncode != 0:
            assert "exceeded quota" in done.stderr, done.stderr
            break
        made += 1
    as_student(1, "delete", "configmap", *[f"many-{n}" for n in range(made)], "--ignore-not-found")
    assert 0 < made < int(class_fence.QUOTA_COUNTS["count/configmaps"]), made  # kube-root-ca.crt counts too
    ok = as_student(1, "apply", "-f", "-", stdin=service("plain"))  # a ClusterIP Service is the lecture's own
    assert ok.returncode == 0, ok.stderr
    as_student(1, "delete", "service", "plain")


def test_what_a_student_may_do_with_the_api_is_what_the_docs_say(klass):
    """kubectl auth can-i --list, asked as a student, against the table in docs/class.md."""
    documented: dict[str, set[str]] = {}
    for line in (ROOT / "docs" / "class.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and line.startswith("| ") and cells[0] not in ("API group", "---"):
            group = "" if cells[0] == "core" else cells[0]
            for resource in cells[1].split(", "):
                base, _, sub = resource.partition("/")  # kubectl prints deployments.apps/scale
                documented[base + (f".{group}" if group else "") + (f"/{sub}" if sub else "")] = set(
                    cells[2].split(", ")
                )
    assert documented, "docs/class.md has no table of what a student may do"
    listed = as_student(1, "auth", "can-i", "--list")
    assert listed.returncode == 0, listed.stderr
    granted: dict[str, set[str]] = {}
    row = re.compile(r"^(?P<resource>\S+)\s+\[(?P<urls>[^]]*)\]\s+\[(?P<names>[^]]*)\]\s+\[(?P<verbs>[^]]*)\]\s*$")
    for line in listed.stdout.splitlines()[1:]:
        found = row.match(line)
        if found:  # rows with no resource are URLs (/healthz, /api/*) every signed-in user may get
            granted.setdefault(found["resource"], set()).update(found["verbs"].split())
    # what every signed-in user may do: ask what they may do, and read the cluster's trust bundles
    basic = {k for k in granted if k.startswith("selfsubject") or k.startswith("clustertrustbundles.")}
    namespaced = {k: v for k, v in granted.items() if k not in basic and k != "nodes"}
    assert namespaced == documented, (namespaced, documented)
    assert granted.get("nodes") == {"get", "list", "watch"}


def test_the_lectures_manifests_run_in_a_student_namespace_under_restricted(klass):
    files = [arg for path in sorted((ROOT / "k8s_demo").glob("*.yaml")) for arg in ("-f", str(path))]
    applied = as_student(5, "apply", *files)
    assert applied.returncode == 0 and "Warning" not in applied.stderr, applied.stderr
    waited = as_student(5, "wait", "--for=condition=Available", "deployment", "--all", "--timeout=180s", timeout=200)
    assert waited.returncode == 0, waited.stderr
    scaled = as_student(5, "scale", "deployment/ok-worker", "--replicas=3")
    assert scaled.returncode == 0
    as_student(5, "wait", "--for=condition=Available", "deployment/ok-worker", "--timeout=120s", timeout=150)
    status = subprocess.run([str(ROOT / "scripts" / "class"), "status"], capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    rows = {line.split()[0]: line for line in status.stdout.splitlines()[1:] if line.startswith(classroom.PREFIX)}
    assert len(rows) == STUDENTS
    assert "deployed scaled" in rows[classroom.namespace_of(5)], status.stdout
    assert rows[classroom.namespace_of(1)].split()[1] == "-"
    assert status.stdout.splitlines()[-1].startswith(
        "most of the class has deployed nothing yet (the deploy is on slide "
    ), status.stdout


def test_up_refuses_a_namespace_it_did_not_make(klass):
    from workshop.cli import WorkshopError

    with pytest.raises(WorkshopError, match=f"already has a namespace {DECOY} that the class did not create"):
        classroom.up(STUDENTS + 2, say=lambda _: None, address=HOST_ADDRESS)
    assert kubectl.run(
        "get", "namespace", classroom.namespace_of(STUDENTS + 1), "--ignore-not-found", "-o", "name"
    ).stdout.strip()  # made before the refusal: recorded, so down removes it


def test_a_student_on_another_laptop_runs_the_kubernetes_part_in_their_namespace(klass, laptop, tmp_path):
    """The student's side, from a second machine with nothing of the teacher's but the kubeconfig file: it
    names the class's address, reaches the student's namespace and is refused in another's; a fresh clone
    of the workshop there (the student's checkout) runs scripts/cluster up --kubeconfig FILE, then the
    deck's Kubernetes slides rehearsed unchanged; the slides that need nodes are skipped with their reason,
    and the shell says so to a student who tries."""
    from test_rehearse_kubernetes import KUBERNETES_SLIDES

    mine = tmp_path / "cs198-student-04.kubeconfig"
    mine.write_text((classroom.class_dir() / f"{classroom.namespace_of(4)}.kubeconfig").read_text())
    mine.chmod(0o600)
    assert kubectl.cluster_entry(mine)["server"] == f"https://{HOST_ADDRESS}:{class_door.PORT}"
    kubectl_program = kubectl.program()
    own = laptop.run([kubectl_program, "--kubeconfig", mine, "get", "pods", "-o", "name"])
    assert own.returncode == 0, own.stderr
    other = laptop.run([kubectl_program, "--kubeconfig", mine, "get", "pods", "-n", classroom.namespace_of(2)])
    assert other.returncode != 0 and "forbidden" in other.stderr.lower(), other.stderr
    assert not laptop.connects(HOST_ADDRESS, 5001)  # the registry: the teacher's machine only

    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True, timeout=120)
    built = ROOT / ".workshop" / "k8s-bin"
    if built.is_dir():  # the kubectl built with the node image; a student's laptop has its own
        (checkout / ".workshop").mkdir()
        (checkout / ".workshop" / "k8s-bin").symlink_to(built)
    env = {**os.environ, "WORKSHOP_VENV": sys.prefix, "HOME": str(tmp_path)}
    for name in ("WORKSHOP_STATE", "KUBECONFIG"):
        env.pop(name, None)
    up = laptop.run([checkout / "scripts" / "cluster", "up", "--kubeconfig", mine], timeout=120, env=env, cwd=checkout)
    assert up.returncode == 0 and f"your namespace '{classroom.namespace_of(4)}'" in up.stdout, up.stdout + up.stderr
    report = tmp_path / "rehearsal.json"
    slides = ",".join(map(str, KUBERNETES_SLIDES))
    started = time.monotonic()
    done = laptop.run(
        [checkout / "scripts" / "rehearse", "--slides", slides, "--json", report], timeout=1200, env=env, cwd=checkout
    )
    seconds = time.monotonic() - started
    assert report.is_file(), done.stdout[-2000:] + done.stderr[-2000:]
    steps = json.loads(report.read_text())["steps"]
    failed = [step for step in steps if step["verdict"] not in ("OK", "SKIP") and not step["skipped"]]
    assert done.returncode == 0 and not failed, json.dumps(failed, indent=1)[-4000:] + done.stderr[-1000:]
    skipped = [step for step in steps if step["skipped"]]
    assert all(step["skipped"] == needs.STUDENT_SKIP for step in skipped), skipped
    nodes = [b for b in reader.read().boxes() if b.slide in KUBERNETES_SLIDES and "nodes" in b.directives.needs]
    assert len(skipped) == len(nodes), (skipped, nodes)  # the drain moved to extras.md: none left here
    ok = sum(step["verdict"] == "OK" for step in steps)
    assert ok >= 20
    print(f"second laptop: {ok} boxes OK, {len(skipped)} skipped, in {seconds:.0f} s")
    from workshop.rehearsal.terminal import ShellSession

    with ShellSession(command=" ".join(laptop.argv(["scripts/workshop-shell"])), env=env, cwd=checkout) as shell:
        shell.wait_prompt()
        status, output = shell.run("kubectl drain workshop-worker --ignore-daemonsets", timeout=30)
    assert status == 3 and "this slide is your teacher's to show" in output, output
    down = laptop.run([checkout / "scripts" / "cluster", "down"], timeout=120, env=env, cwd=checkout)
    assert down.returncode == 0 and not (checkout / ".workshop" / "kubeconfig").exists(), down.stdout + down.stderr


def test_a_cluster_whose_nodes_cannot_pull_the_image_is_told_how_to_fix_it(klass):
    from workshop.cli import WorkshopError

    missing = f"{app_images.APP}:no-such-tag"
    with pytest.raises(WorkshopError, match="nodes cannot pull .*no-such-tag: map localhost:5001 to 10.0.0.9:5000"):
        classroom.check_pull(classroom.admin_config(None), classroom.namespace_of(1), "10.0.0.9:5000", image=missing)
    classroom.check_pull(classroom.admin_config(None), classroom.namespace_of(1), None)  # the real one pulls


def test_registry_pushes_the_lectures_images_there_under_the_same_names(docker):
    pushed: list[str] = []
    elsewhere = "127.0.0.1:5001"  # the same registry, by another name
    try:
        classroom.push_to(elsewhere, pushed.append)
        assert pushed == [
            f"pushed {elsewhere}{image[len(app_images.ADDRESS) :]}" for image in classroom.lecture_images()
        ]
        for image in classroom.lecture_images():
            assert registry_digest(elsewhere + image[len(app_images.ADDRESS) :])
    finally:
        subprocess.run([str(ROOT / "scripts" / "reset"), "--only", f"{elsewhere}/*"], capture_output=True, timeout=120)
    left = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}", f"{elsewhere}/*"], capture_output=True, text=True
    ).stdout.split()
    assert left == []


def registry_digest(ref: str) -> str:
    import urllib.request

    host, _, rest = ref.partition("/")
    repository, _, tag = rest.rpartition(":")
    request = urllib.request.Request(
        f"http://{host}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={
            "Accept": "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, "
            "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json"
        },
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.headers.get("Docker-Content-Digest", "")


def test_five_students_work_through_the_kubernetes_steps_at_once_and_all_pass(klass):
    """The whole class at the same moment, each through their own kubeconfig: apply, wait, scale, roll out
    v2 and back, delete (the steps of scripts/bench --class, which prints their seconds)."""
    from workshop.commands import bench_class

    all_green, seconds, _, _ = bench_class.one_round(STUDENTS)
    assert all_green
    assert len(seconds) == STUDENTS * len(bench_class.steps([]))
