"""The lint and type gate of .ci/run, kept honest: ruff and mypy pass on the tree, and with the project's
own settings they still fail on a planted unused import and type errors under workshop/ and tests/."""

import shutil
import subprocess
import sys

import pytest

from workshop.paths import ROOT

# line 2: an unused import (ruff's F401); line 6: a float returned as a str; line 10: an error in a function
# without annotations, which mypy checks only with check_untyped_defs
PLANTED = '''"""Planted by tests/test_lint.py."""
import os


def half(number: int) -> str:
    return number / 2


def untyped():
    return 1 + ""
'''
PLANTED_FILES = ("workshop/planted_code.py", "provision/planted_step.py", "tests/planted_test.py")


def tool(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_tree_passes_ruff_and_mypy():
    ruff = tool("ruff", "check", "workshop", "provision", "tests", cwd=ROOT)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    formatted = tool("ruff", "format", "--check", "workshop", "provision", "tests", cwd=ROOT)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    mypy = tool("mypy", cwd=ROOT)
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The project's pyproject.toml and one planted file in each folder its settings check."""
    tree = tmp_path_factory.mktemp("lint")
    shutil.copy(ROOT / "pyproject.toml", tree)
    for path in PLANTED_FILES:
        (tree / path).parent.mkdir()
        (tree / path).write_text(PLANTED)
    return tree


def test_ruff_fails_on_an_unused_import(planted):
    done = tool(
        "ruff", "check", "--no-cache", "--output-format", "concise", "workshop", "provision", "tests", cwd=planted
    )
    assert done.returncode == 1, done.stdout + done.stderr
    for path in PLANTED_FILES:
        assert f"{path}:2:8: F401" in done.stdout, done.stdout


def test_mypy_fails_on_type_errors_in_typed_and_untyped_code(planted):
    done = tool("mypy", "--cache-dir", str(planted / ".mypy_cache"), cwd=planted)  # the files of its settings
    assert done.returncode == 1, done.stdout + done.stderr
    for path in PLANTED_FILES:
        assert f"{path}:6: error: Incompatible return value type" in done.stdout, done.stdout
        assert f"{path}:10: error: Unsupported operand types" in done.stdout, done.stdout


def test_ruff_format_check_fails_on_code_it_would_lay_out_otherwise(planted):
    (planted / "workshop" / "squeezed.py").write_text("x = {'a':1,  'b' :2}\n")
    done = tool("ruff", "format", "--check", "--no-cache", "workshop", cwd=planted)
    assert done.returncode == 1 and "squeezed.py" in done.stdout, done.stdout + done.stderr
