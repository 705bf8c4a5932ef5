"""scripts/doctor: real checks on this machine, nothing mocked. A port really held, a PATH really
without expect, a terminal of a real size (a pseudo-terminal), and the JSON and exit status."""

import json
import os
import re
import socket
import sys

import pexpect
import pytest

from conftest import run_command
from workshop.commands import doctor
from workshop.deck import docker_commands, reader
from workshop.names import DEBIAN_IMAGE, PYTHON_IMAGE
from workshop.paths import DECK, DECKS, ROOT
from workshop.rehearsal import fit

# the rows doctor defines, in order, read from doctor itself: the report run as a command must list
# exactly these (a row that breaks, or one the JSON or the table leaves out, fails below)
NAMES = [name for name, _ in doctor.checks()]


def run_doctor(*args, env=None):
    return run_command("doctor", *args, timeout=120, env=env)


def by_name(done):
    return {row["name"]: row for row in json.loads(done.stdout)["checks"]}


def test_json_names_every_check_and_the_exit_status_follows_the_fails():
    done = run_doctor("--json")
    report = json.loads(done.stdout)
    assert [row["name"] for row in report["checks"]] == NAMES
    assert done.stderr == ""
    for row in report["checks"]:
        assert row["status"] in ("PASS", "WARN", "FAIL"), row
        assert row["found"], row
        if row["status"] == "FAIL":
            assert row["fix"], row
    failed = any(row["status"] == "FAIL" for row in report["checks"])
    assert done.returncode == (1 if failed else 0)
    assert report["ready"] is (not failed)
    # stdout is a pipe here: the terminal's size is unknown, which warns but does not fail
    assert by_name(done)["terminal"]["status"] == "WARN"


def test_rows_say_what_this_machine_has_not_only_a_status(tmp_path):
    """A state folder with no cluster in it: the cluster row FAILs with its fix and the exit status says so,
    while the rows that hold here whatever the machine (the pinned packages of the venv doctor runs with,
    both decks' plans) PASS. A doctor that said PASS, or FAIL, to everything fails this."""
    done = run_doctor("--json", env={"WORKSHOP_STATE": str(tmp_path / "state")})
    rows = by_name(done)
    assert rows["cluster"]["status"] == "FAIL" and "scripts/cluster up" in rows["cluster"]["fix"], rows["cluster"]
    assert rows["packages"]["status"] == "PASS", rows["packages"]
    assert rows["plan"]["status"] == "PASS" and rows["plan extras.md"]["status"] == "PASS", rows["plan"]
    assert done.returncode == 1 and json.loads(done.stdout)["ready"] is False


def test_the_table_has_one_row_per_check_and_a_verdict():
    done = run_doctor()
    lines = done.stdout.splitlines()
    verdict = next(n for n, line in enumerate(lines) if line.startswith("doctor: "))
    lines, plans = lines[: verdict + 1], lines[verdict + 1 :]
    assert len(lines) == len(NAMES) + 1
    for line, name in zip(lines, NAMES, strict=False):
        assert line.split("  ")[0] in ("PASS", "WARN", "FAIL")
        assert f"  {name} " in line
        if line.startswith("FAIL"):
            assert "-> fix: " in line
        if line.startswith("PASS"):
            assert "-> fix: " not in line
    assert lines[-1].startswith("doctor: ")
    # then each deck's plan by the honest clock: a row per part, and the total against the slot
    for deck_path in DECKS:
        title = plans.index(next(line for line in plans if line.startswith(f"{deck_path.name} by the honest clock")))
        table = plans[title + 1 : title + 3 + len(reader.read(deck_path).parts)]
        assert [row.split()[0] for row in table[1:-1]] == [p.name.split()[0] for p in reader.read(deck_path).parts]
        assert table[-1].split()[0] == "total" and "min left" in table[-1]


def test_the_plan_row_passes_on_the_committed_decks_and_names_the_minutes_left():
    row = doctor.check_plan()
    assert row.status == "PASS", row
    needed = sum(p.minutes for p in fit.plan(reader.read(DECK)))
    assert row.found == f"{needed:.1f} min by the honest clock, {75 - needed:.1f} of 75 left for questions"


def test_a_busy_port_fails_with_the_fix():
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))  # a port of its own: nobody else's is touched
    holder.listen()
    port = holder.getsockname()[1]
    try:
        row = doctor.check_port(port)
    finally:
        holder.close()
    assert row.status == "FAIL" and "in use" in row.found and f"pid {os.getpid()}" in row.found, row
    assert row.fix == f"kill {os.getpid()}"
    assert doctor.check_port(port).status == "PASS"


def test_without_expect_on_path_the_fix_is_the_install_command(tmp_path):
    done = run_doctor("--json", env={"PATH": str(tmp_path)})
    row = by_name(done)["expect"]
    assert row["status"] == "FAIL"
    install = "brew install expect" if sys.platform == "darwin" else "sudo apt-get install -y expect"
    assert row["fix"] == install
    assert done.returncode == 1


@pytest.mark.parametrize("cols, rows, status", [(100, 30, "FAIL"), (120, 40, "PASS"), (150, 50, "PASS")])
def test_the_terminal_size_is_measured_in_a_real_terminal(cols, rows, status):
    child = pexpect.spawn(
        sys.executable,
        ["-m", "workshop.commands.doctor"],
        cwd=str(ROOT),
        dimensions=(rows, cols),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        encoding="utf-8",
        timeout=120,
    )
    output = child.read()
    child.close()
    line = next(line for line in output.splitlines() if "terminal" in line and line[:4] in ("PASS", "FAIL", "WARN"))
    assert line.startswith(status) and f"{cols}x{rows}" in line, line


def test_warnings_alone_do_not_block_the_lecture():
    warn = doctor.Result("kind", doctor.WARN, "not installed", "")
    fail = doctor.Result("cluster", doctor.FAIL, "no workshop cluster", "scripts/cluster up")
    assert doctor.exit_status([warn]) == 0
    assert doctor.exit_status([warn, fail]) == 1
    assert "NOT ready" in doctor.table([warn, fail]) and "fix: scripts/cluster up" in doctor.table([warn, fail])


def test_a_check_that_breaks_is_a_fail_row_not_a_traceback():
    def broken():
        raise OSError("disk on fire")

    row = doctor.run_check("images", broken)
    assert row.status == doctor.FAIL and "disk on fire" in row.found and row.fix


def test_the_images_come_from_the_deck_boxes():
    images = docker_commands.deck_images()
    assert DEBIAN_IMAGE in images  # docker run on the namespaces slide
    assert PYTHON_IMAGE in images  # FROM of docker_demo/Dockerfile, and the OOM box
    assert not any(image.startswith(("workshop-demo-", "localhost:5001/okpy-mini")) for image in images)


def test_docker_run_options_are_skipped_to_find_the_image():
    line = "docker run -it --rm --name workshop-demo -p 8000:3000 -e A=1 --memory=64m img:1 python3 -c 'x'"
    (words,) = docker_commands.docker_commands(line)
    assert docker_commands.run_image(words) == "img:1"
    assert len(docker_commands.docker_commands("docker build -t a . && docker push a | grep x")) == 2


def test_the_engine_row_names_the_builder_and_the_image_store(docker):
    row = doctor.check_docker()
    assert row.status in ("PASS", "WARN") and " builder, " in row.found and " image store" in row.found
    if row.found.split(" builder")[0].endswith("legacy"):
        assert row.status == "WARN" and "CACHED" in row.found and row.fix


@pytest.mark.cluster
def test_the_kubernetes_row_reads_the_real_cluster_and_engine(workshop_cluster):
    """On the workshop's kind cluster: the server's 1.37 release, the kubectl the boxes use, and the
    cgroup v1 warning exactly when the engine under the nodes runs cgroup v1."""
    from workshop.machine import docker_engine as engine, engines

    row = next(r for r in json.loads(run_doctor("--json").stdout)["checks"] if r["name"] == "kubernetes")
    assert re.search(r"server v1\.37\.\d+, kubectl v1\.3[678]\.\d+", row["found"]), row
    cgroup_v1 = (engine.facts() or engines.Facts(*["?"] * 7)).cgroup_version == "1"
    assert ("failCgroupV1: false" in row["found"]) == cgroup_v1, row
    assert row["status"] == ("WARN" if cgroup_v1 else "PASS"), row
