"""The rules that keep CI honest: under CI=true a skip outside the allowed list fails, and a run
that collects no test fails too (pytest's exit 5 is not a pass)."""

import os
import subprocess
import sys
import textwrap
import time

from workshop.paths import ROOT


def inner_tree(tmp_path, test_source):
    """A folder with this repository's conftest and markers (pyproject.toml) and one small test file."""
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(test_source))


def inner_env(tmp_path, **more: str) -> dict[str, str]:
    """The environment of an inner session: this checkout importable, and lane locks and a workshop state of
    its own. The bare lane runs these beside the other lanes: with the checkout's locks, the inner
    cluster_alone test waited for the real class lane (CI63); with the checkout's state, the inner
    engine_restart test, which in CI first takes the cluster down, took down the real one (CI64)."""
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WORKSHOP_TEST_LOCKS": str(tmp_path / "locks"),
        "WORKSHOP_STATE": str(state),
        **more,
    }


def run_inner(tmp_path, test_source, ci, args=()):
    """A real pytest session of its own, using this repository's conftest, on one small test file."""
    inner_tree(tmp_path, test_source)
    env = inner_env(tmp_path, CI="true" if ci else "false")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


SKIPPING = """
    import pytest

    def test_skips():
        pytest.skip("tmux is not installed")

    def test_passes():
        assert True
"""


def test_a_skip_fails_under_ci_and_names_its_reason(tmp_path):
    done = run_inner(tmp_path, SKIPPING, ci=True)
    assert done.returncode == 1, done.stdout
    assert "1 failed, 1 passed" in done.stdout
    assert "not on ALLOWED_SKIPS" in done.stdout and "tmux is not installed" in done.stdout


def test_the_same_skip_is_only_a_skip_on_a_laptop(tmp_path):
    done = run_inner(tmp_path, SKIPPING, ci=False)
    assert done.returncode == 0 and "1 passed, 1 skipped" in done.stdout, done.stdout


def test_no_tests_at_all_is_a_failure(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = subprocess.run(
        [str(ROOT / "scripts" / "test"), str(empty), "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "collected no tests" in done.stderr


LANED = """
    import pytest

    @pytest.fixture
    def docker():
        return "docker"

    def test_quick():
        pass

    @pytest.mark.engine_restart
    def test_restarts_the_engine():
        pass

    @pytest.mark.cluster_alone(renews=True)
    @pytest.mark.slow
    def test_takes_the_cluster_down_and_up():
        pass

    @pytest.mark.cluster_alone
    @pytest.mark.slow
    def test_pauses_a_node():
        pass

    def test_uses_the_engine(docker):
        pass

    @pytest.mark.slow
    def test_slow():
        pass

    @pytest.mark.slow
    @pytest.mark.bare
    def test_slow_but_bare():
        pass

    @pytest.mark.machine
    def test_quick_but_machine():
        pass

    @pytest.mark.slow
    @pytest.mark.classroom
    def test_of_the_class():
        pass

    @pytest.mark.beside
    def test_beside_the_machine(docker):
        pass
"""


def test_each_test_is_in_one_lane_and_the_lanes_are_the_whole_suite(tmp_path):
    """The bare lane runs beside anything; a test that uses the engine or cluster fixtures, or is marked
    slow, cluster, engine_restart or machine, is the machine lane's unless marked bare; classroom tests are
    the class lane's. Together the lanes run every test once, cluster_alone (those that renew the cluster
    after the others) and then engine_restart last."""
    ran = {}
    for lane in ("bare", "class", "machine", "all"):
        done = run_inner(tmp_path, LANED, ci=True, args=("--lane", lane, "-vv"))
        assert done.returncode == 0, done.stdout + done.stderr
        ran[lane] = [line.split("::")[1].split()[0] for line in done.stdout.splitlines() if " PASSED" in line]
    assert ran["bare"] == ["test_quick", "test_slow_but_bare"]
    assert ran["class"] == ["test_of_the_class", "test_beside_the_machine"]
    assert ran["machine"] == [
        "test_uses_the_engine",
        "test_slow",
        "test_quick_but_machine",
        "test_pauses_a_node",
        "test_takes_the_cluster_down_and_up",
        "test_restarts_the_engine",
    ]
    assert sorted(ran["all"]) == sorted(ran["bare"] + ran["class"] + ran["machine"])
    assert ran["all"][-3:] == ["test_pauses_a_node", "test_takes_the_cluster_down_and_up", "test_restarts_the_engine"]


TIMED = """
    import time

    import pytest

    pytestmark = pytest.mark.slow

    @pytest.mark.classroom
    def test_class_work():
        time.sleep(3)
        open("class-ended", "w").write(repr(time.time()))

    @pytest.mark.cluster_alone
    def test_cluster_down():
        open("down-began", "w").write(repr(time.time()))
"""


def test_a_cluster_alone_test_waits_for_the_class_lane_to_end(tmp_path):
    """The machine lane's cluster_alone test, started while the class lane runs, begins only once that
    lane has ended (the lock the class lane holds for its whole session)."""
    inner_tree(tmp_path, TIMED)
    env = inner_env(tmp_path)

    def lane(name: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lane", name, str(tmp_path)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    klass = lane("class")
    deadline = time.monotonic() + 30
    while not (tmp_path / "locks" / "class-lane.lock").exists():  # the class lane holds its lock
        assert time.monotonic() < deadline and klass.poll() is None, klass.communicate()[0]
        time.sleep(0.05)
    machine = lane("machine")
    outputs = [process.communicate(timeout=60)[0] for process in (klass, machine)]
    assert klass.returncode == 0 and machine.returncode == 0, outputs
    ended, began = (float((tmp_path / name).read_text()) for name in ("class-ended", "down-began"))
    assert began >= ended, f"the cluster_alone test began {ended - began:.2f} s before the class lane ended"


def test_a_lane_with_no_tests_fails(tmp_path):
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_inner.py").write_text("import pytest\n\n\n@pytest.mark.slow\ndef test_slow():\n    pass\n")
    done = subprocess.run(
        [str(ROOT / "scripts" / "test"), str(tmp_path), "--lane", "bare", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 1 and "collected no tests" in done.stderr, done.stdout + done.stderr


def test_scripts_test_runs_the_three_lanes_side_by_side_and_fails_when_one_does(tmp_path):
    """The README's test command with no selection: every lane runs, each lane's summary is printed, and the
    exit status is a failure when any lane fails (here the class lane's planted one)."""
    import shutil

    tree = tmp_path / "checkout"
    for part in ("scripts", "workshop", "requirements", "k8s_demo"):
        shutil.copytree(ROOT / part, tree / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", tree)
    (tree / "tests").mkdir()
    shutil.copy2(ROOT / "tests" / "conftest.py", tree / "tests")
    tiny = tree / "tests" / "test_tiny.py"
    body = (
        "import pytest\n\n\ndef test_bare():\n    pass\n\n\n@pytest.mark.machine\ndef test_machine():\n    pass\n\n\n"
    )
    env = {**os.environ, "WORKSHOP_VENV": os.environ.get("WORKSHOP_VENV") or str(ROOT / ".venv")}
    env.pop("PYTHONPATH", None)
    for verdict, status in (("pass", 0), ("assert False, 'planted'", 1)):
        tiny.write_text(body + f"@pytest.mark.classroom\ndef test_class():\n    {verdict}\n")
        done = subprocess.run(
            [str(tree / "scripts" / "test"), "-p", "no:cacheprovider", "-q"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        out = done.stdout + done.stderr
        assert done.returncode == status, out
        said = [line for line in out.splitlines() if line.startswith("workshop: exit status of each lane:")]
        assert said == [f"workshop: exit status of each lane: machine 0 bare 0 class {status}"], out
