"""The rehearsal engine end to end on a tiny deck: real shells in real pseudo-terminals."""

import json
import subprocess
from pathlib import Path

import pytest

from conftest import run_command
from workshop.deck import reader as deck
from workshop.rehearsal import recordings
from workshop.rehearsal.engine import Options, Rehearsal

TINY = Path(__file__).parent / "decks" / "tiny.md"


@pytest.fixture(scope="module")
def results():
    return Rehearsal(deck.read(TINY), Options()).run()


def by_label(results):
    return {r.box.label: r for r in results}


def test_passing_and_expected_failure_boxes_pass(results):
    steps = by_label(results)
    assert steps["slide 1 box 1"].ok, steps["slide 1 box 1"].problem
    assert steps["slide 1 box 1"].status == 0
    assert steps["slide 1 box 2"].ok, steps["slide 1 box 2"].problem
    assert steps["slide 1 box 2"].status != 0


def test_long_running_server_stays_up_for_the_next_box_then_stops(results):
    steps = by_label(results)
    assert steps["slide 2 box 1"].ok, steps["slide 2 box 1"].problem
    assert steps["slide 2 box 2"].ok, steps["slide 2 box 2"].output


def test_wrong_output_timeout_and_bad_status_are_failures(results):
    steps = by_label(results)
    assert not steps["slide 3 box 1"].ok
    assert "does not match" in steps["slide 3 box 1"].problem
    assert not steps["slide 3 box 2"].ok
    assert steps["slide 3 box 2"].problem == "timed out after 1.5 s"
    assert steps["slide 3 box 2"].seconds < 10
    assert not steps["slide 3 box 3"].ok
    assert steps["slide 3 box 3"].problem == "exit status 3, expected exit status 0"


def test_nothing_is_left_running(results):
    lines = [
        line.strip()
        for line in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    ]
    assert not [line for line in lines if "tests/decks/tiny_server.py" in line or line.endswith(" tiny_server.py")]
    assert "sleep 30" not in lines  # the timed-out box's own command line (not, say, someone's `sleep 300`)


def run_cli(*args):
    return run_command("rehearse", "--deck", TINY, *args, timeout=120)


def test_cli_prints_one_line_per_step_and_fails_overall(tmp_path):
    report = tmp_path / "report.json"
    done = run_cli("--json", str(report), "--record", str(tmp_path / "casts"))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    step_lines = [line for line in lines if line.split()[0] in ("OK", "FAIL")]
    assert len(step_lines) == 7
    assert lines[-1].startswith("rehearsal: 4 passed, 3 failed, 0 skipped")
    assert "     why: timed out after 1.5 s" in lines
    data = json.loads(report.read_text())
    assert [s["verdict"] for s in data["steps"]].count("FAIL") == 3
    assert all(isinstance(s["seconds"], float) for s in data["steps"])
    header, events = recordings.load(tmp_path / "casts" / "slide-01-box-1.cast")
    assert header["version"] == 2 and header["width"] > 80
    assert "hello from 42" in "".join(e[2] for e in events if e[1] == "o")
    assert len(list((tmp_path / "casts").glob("*.cast"))) == 7


def test_cli_slides_and_stop_first():
    done = run_cli("--slides", "3", "--stop-first")
    assert done.returncode == 1
    assert [line.split()[0] for line in done.stdout.splitlines()[:-1] if not line.startswith(" ")] == ["FAIL"]


def test_cli_bad_options_are_one_line():
    for args, needle in (
        (["--slides", "9"], "the deck has slides 1 to 3"),
        (["--slides", "x"], "--slides takes numbers"),
        (["--without", "gpu"], "--without gpu: choose from"),
    ):
        done = run_cli(*args)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and needle in done.stderr, done.stderr


def test_a_server_stops_on_ctrl_c_even_when_the_rehearsal_was_started_with_ctrl_c_ignored():
    """A script's background job starts with SIGINT ignored, and an ignored signal stays ignored across
    exec: without a reset, no Ctrl-C stopped the demo server (found as CI's first phase failing when
    .ci/run ran in the background)."""
    import os
    import signal
    import sys

    from conftest import ROOT

    server = next(box.slide for box in deck.read(TINY).boxes() if box.directives.ready)
    done = subprocess.run(
        [sys.executable, "-m", "workshop.commands.rehearse", "--deck", str(TINY), "--slides", str(server)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "still running" not in done.stdout
