"""The rules that keep CI honest: under CI=true a skip outside the allowed list fails, and a run
that collects no test fails too (pytest's exit 5 is not a pass)."""

import os
import subprocess
import sys
import textwrap

from workshop.paths import ROOT


def run_inner(tmp_path, test_source, ci):
    """A real pytest session of its own, using this repository's conftest, on one small test file."""
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(test_source))
    env = {**os.environ, "CI": "true" if ci else "false", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
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
