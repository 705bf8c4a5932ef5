"""The bench's bookkeeping, without a machine to time: how a figure is held against its bound, how
prepare's steps are read, and how the last run's lines reach docs/development.md (and only from a run)."""

import contextlib

import pytest

from conftest import run_command
from workshop.cli import WorkshopError
from workshop.commands import bench_bounds

PREPARE_OUTPUT = """\
..   engine      started dockerd (current, pid 1803), log in /var/lib/cs198-workshop/dockerd.log
OK   engine      Docker 28.5.2+dfsg4 (client 29.9.3), BuildKit builder (4.7 s)
OK   images      stand-in present: debian:trixie-slim (0.5 s)
OK   cluster     kind cluster workshop: 3 nodes Ready (51.2 s)
ready: engine, images, cluster in 56.4 s
"""


def test_a_figure_meets_or_misses_its_bound():
    assert bench_bounds.against(59.9, 60, "60 s") == "(meets the 60 s bound)"
    assert bench_bounds.against(60.1, 60, "60 s") == "(MISSES the 60 s bound)"


def test_prepares_steps_are_read_from_its_ok_lines():
    assert bench_bounds.step_seconds(PREPARE_OUTPUT) == {"engine": 4.7, "images": 0.5, "cluster": 51.2}


def test_the_lines_printed_reach_the_record_whole():
    said: list[str] = []
    with contextlib.redirect_stdout(bench_bounds.Lines(said.append)):
        print("present     first slide", end="")
        print(" on screen: 0.31 s")
        print("kind        ratio 1.02\nclass       8 students")
    assert said == ["present     first slide on screen: 0.31 s", "kind        ratio 1.02", "class       8 students"]


def test_the_docs_get_the_last_runs_lines_with_its_date_between_the_markers(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE", str(tmp_path / "state"))
    docs = tmp_path / "development.md"
    docs.write_text(f"# Dev\n\nbefore\n\n{bench_bounds.BEGIN}\nold figures\n{bench_bounds.END}\n\nafter\n")
    with pytest.raises(WorkshopError, match="no bench run on record here: run scripts/bench --all first"):
        bench_bounds.write_docs(docs)
    bench_bounds.save(["present     0.31 s (meets the 0.4 s bound)"], "2026-12-06 20:10 UTC")
    bench_bounds.write_docs(docs)
    assert docs.read_text() == (
        f"# Dev\n\nbefore\n\n{bench_bounds.BEGIN}\n\n```text\nscripts/bench --all, 2026-12-06 20:10 UTC\n"
        f"present     0.31 s (meets the 0.4 s bound)\n```\n\n{bench_bounds.END}\n\nafter\n"
    )
    docs.write_text("# Dev, its block deleted\n")
    with pytest.raises(WorkshopError, match="has no bench block"):
        bench_bounds.write_docs(docs)


def test_the_real_docs_hold_a_bench_block_written_from_a_run():
    text = bench_bounds.DOCS.read_text()
    block = text.split(bench_bounds.BEGIN, 1)[1].split(bench_bounds.END, 1)[0]
    assert "scripts/bench --all, 20" in block, (
        "docs/development.md's figures did not come from scripts/bench --all --docs"
    )
    for figure in ("present ", "kind ", "prepare ", "tui ", "class "):
        assert any(line.startswith(figure) for line in block.splitlines()), f"no {figure.strip()} line in the block"


def test_docs_without_a_run_is_one_line(tmp_path):
    done = run_command("bench", "--docs", timeout=60, env={"WORKSHOP_STATE": str(tmp_path)})
    assert done.returncode != 0 and done.stdout == "", done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == ["bench: no bench run on record here: run scripts/bench --all first"]
