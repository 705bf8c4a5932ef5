"""slides.md and extras.md follow the rules that keep lookatme 2.5.5 from breaking in front of a class."""

import re
import subprocess

import lookatme.contrib.terminal as terminal_ext
import pytest
from lookatme.parser import Parser

from support.checkout import as_committed
from workshop.deck import reader as deck
from workshop.deck.geometry import box_columns
from workshop.names import PROMPT
from workshop.paths import DECK, DECKS, EXTRAS, ROOT

DECK_MODEL = deck.read(DECK)
EXTRAS_MODEL = deck.read(EXTRAS)
NAMED_BOXES = [
    (f"{box.label} of {model.path.stem}", box) for model in (DECK_MODEL, EXTRAS_MODEL) for box in model.boxes()
]
BOXES = [box for _, box in NAMED_BOXES]
FILES = [
    (f"{model.path.name}:{slide.number}", block)
    for model in (DECK_MODEL, EXTRAS_MODEL)
    for slide in model.slides
    for block in slide.files
]
BOTH = pytest.mark.parametrize("model", [deck.read(path) for path in DECKS], ids=[path.name for path in DECKS])


@BOTH
def test_front_matter_sets_what_the_footer_and_extensions_need(model):
    meta = model.meta
    assert meta["title"] and meta["author"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(meta["date"])), (
        "set date: explicitly (lookatme shows today's otherwise)"
    )
    assert set(meta["extensions"]) == {"terminal", "file_loader"}


def test_lookatme_counts_the_same_slides_as_the_reader_and_the_parts_cover_them():
    for model in (DECK_MODEL, EXTRAS_MODEL):
        assert model.parts[0].first == 1 and model.parts[-1].last == len(model.slides) > 1
        _, slides = Parser().parse(model.path.read_text())
        assert len(slides) == len(model.slides)


@pytest.mark.parametrize("number, block", FILES, ids=[f"{n}-{b.path}" for n, b in FILES])
def test_file_blocks_point_at_real_files_with_a_language(number, block):
    assert (DECK.parent / block.path).is_file(), f"slide {number}: {block.path} does not exist"
    assert block.spec.get("lang") not in (None, "auto"), f"slide {number}: set lang: ({block.path})"


def test_the_demo_files_are_all_shown():
    shown = {block.path for _, block in FILES}
    for path in (
        "docker_demo/deb.Dockerfile",
        "docker_demo/Dockerfile",
        "docker_demo/61a.Dockerfile",
        "docker_demo/server.py",
    ):
        assert path in shown


@pytest.mark.parametrize("box", BOXES, ids=[name for name, _ in NAMED_BOXES])
def test_every_box_validates_against_lookatmes_schema_and_waits_for_our_prompt(box):
    terminal_ext.TerminalExSchema().load(box.spec)  # raises on any key lookatme would reject
    assert box.command == "scripts/workshop-shell"
    if box.spec.get("init_text") is not None:
        assert box.spec["init_wait"] == PROMPT
        assert not box.spec["init_text"].endswith("\n"), "a trailing newline would run it before the presenter does"
        assert box.spec["init_text"].count("{") == box.spec["init_text"].count("}"), (
            "expect's Tcl needs balanced braces"
        )
    else:
        assert box.spec["init_codeblock"] is False


def test_a_box_that_edits_a_lecture_file_runs_only_with_the_cluster_it_edits_it_for():
    """A rehearsal without the cluster (the Docker part alone) must not leave the worker file edited."""
    editing = [box for box in BOXES if "sed -i" in (box.typed or "")]
    assert editing and all("cluster" in box.directives.needs for box in editing), [b.label for b in editing]


def test_every_live_box_says_what_it_expects():
    for box in BOXES:
        rules = box.directives
        silent = r"\S" in rules.reject  # a box that must print nothing at all (an edit with sed)
        assert rules.expect or rules.ready or rules.fails or rules.exit or silent, (
            f"{box.label}: add a [rehearse] directive"
        )


@pytest.mark.parametrize(
    "number, block",
    [(n, b) for n, b in FILES if "lines" in b.spec],
    ids=[f"slide{n}-{b.path}" for n, b in FILES if "lines" in b.spec],
)
def test_a_shown_range_starts_and_ends_on_real_lines(number, block):
    """After a manifest changes, a range that is off by one shows a '---' or cuts a block in half."""
    lines = (DECK.parent / block.path).read_text().splitlines()
    start, end = block.spec["lines"].get("start", 0), block.spec["lines"].get("end") or len(lines)
    shown = lines[start:end]
    assert shown and shown[0].strip() not in ("", "---"), f"slide {number} starts its range on {shown[:1]}"
    assert end == len(lines) or not lines[end].startswith(" " * 12), (
        f"slide {number} stops in the middle of a block (next line: {lines[end]!r})"
    )


def test_the_scaling_slides_edit_is_set_back_by_the_recap_and_a_left_edit_stops_a_rehearsal(tmp_path):
    """The scaling box edits k8s_demo/ok-worker.yaml (1 -> 3) and the recap's box sets it back (3 -> 1):
    run in order on a copy, the file ends as committed; left at 3, a rehearsal stops with the fix first."""
    from workshop.rehearsal import needs
    from workshop.rehearsal.boxes import SCALE_EDIT

    lecture = deck.read()
    boxes = list(lecture.boxes())
    typed = [b.typed for b in boxes if b.typed]
    edit, put_back = (str(getattr(lecture.box(name), "typed", "")) for name in (SCALE_EDIT, "scale-restore"))
    assert put_back.startswith("sed -i 's/^  replicas: 3$/  replicas: 1/'")
    assert typed.index(edit) < typed.index(put_back)
    (tmp_path / "k8s_demo").mkdir()
    committed = as_committed(ROOT / needs.WORKER_FILE)
    copy = tmp_path / needs.WORKER_FILE
    copy.write_text(committed)
    (tmp_path / needs.TYPO_FILE).write_text(as_committed(ROOT / needs.TYPO_FILE))
    assert needs.file_left_edited(boxes, tmp_path) is None
    subprocess.run(edit, shell=True, cwd=tmp_path, check=True)
    assert needs.WORKER_REPLICAS.findall(copy.read_text()) == ["3"]
    fix = needs.file_left_edited(boxes, tmp_path)
    assert fix and "\n" not in fix and "replicas 3" in fix and "git diff k8s_demo/ok-worker.yaml" in fix
    assert needs.file_left_edited([b for b in boxes if b.slide > 40], tmp_path) is None  # no deploy, no scaling
    subprocess.run(put_back, shell=True, cwd=tmp_path, check=True)
    assert copy.read_text() == committed


def test_the_crash_lessons_fix_is_set_back_by_its_last_box_and_a_left_fix_stops_a_rehearsal(tmp_path):
    """The crash lesson fixes k8s_demo/typo.yaml ("0.3s" -> "0.3") and its last box puts the typo back:
    run in order on a copy, the file ends as committed, and only the value changed in between."""
    from workshop.rehearsal import needs

    boxes = list(deck.read().boxes())
    typed = [b.typed for b in boxes if b.typed]
    fix = next(t for t in typed if t.startswith("sed -i") and needs.TYPO_FILE in t).split(" && ")[0]
    put_back = next(t for t in typed if t.startswith(f"kubectl delete -f {needs.TYPO_FILE} && ")).split(" && ", 1)[1]
    assert next(n for n, t in enumerate(typed) if t.startswith(fix)) < next(
        n for n, t in enumerate(typed) if put_back in t
    )
    (tmp_path / "k8s_demo").mkdir()
    committed = as_committed(ROOT / needs.TYPO_FILE)
    copy = tmp_path / needs.TYPO_FILE
    copy.write_text(committed)
    (tmp_path / needs.WORKER_FILE).write_text(as_committed(ROOT / needs.WORKER_FILE))
    assert needs.TYPO_VALUE.findall(committed) == ["0.3s"]
    assert needs.file_left_edited(boxes, tmp_path) is None
    subprocess.run(fix, shell=True, cwd=tmp_path, check=True)
    fixed = copy.read_text()
    assert needs.TYPO_VALUE.findall(fixed) == ["0.3"]
    changed = [(a, b) for a, b in zip(committed.splitlines(), fixed.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and "GRADE_SECONDS" not in changed[0][0], changed  # the value line alone
    left = needs.file_left_edited(boxes, tmp_path)
    assert left and "\n" not in left and "git diff k8s_demo/typo.yaml" in left
    subprocess.run(put_back, shell=True, cwd=tmp_path, check=True)
    assert copy.read_text() == committed


def wrapped(model: deck.Deck) -> list[str]:
    """Boxes whose typed command, after the prompt, does not fit on the box's first row: the terminal
    would break it wherever the row ends, in the middle of a word (a box is this wide inside at 120x40)."""
    width = box_columns(model.meta)
    return [
        f"{box.label}: {len(PROMPT + box.typed)} columns for a {width}-column box: `{box.typed}`"
        for box in model.boxes()
        if box.typed and len(PROMPT + box.typed) >= width  # at exactly the width, readline moves to a new row
    ]


@BOTH
def test_every_typed_command_reads_whole_on_one_row_of_its_box(model):
    assert wrapped(model) == []


def test_a_command_one_column_too_wide_for_its_box_is_caught():
    width = box_columns(DECK_MODEL.meta)
    fits, too_wide = "x" * (width - len(PROMPT) - 1), "x" * (width - len(PROMPT))
    for command, found in ((fits, 0), (too_wide, 1)):
        text = (
            "---\ntitle: t\nstyles:\n  padding:\n    left: 4\n    right: 4\n---\n\n# One\n\n```terminal-ex\n"
            "command: scripts/workshop-shell\nrows: 3\n"
            f"init_text: {command}\ninit_wait: '{PROMPT}'\ninit_codeblock: false\n```\n"
            '[rehearse]: # "expect: x"\n'
        )
        assert len(wrapped(deck.parse(text, DECK))) == found


def test_the_readme_and_the_rehearsal_docs_name_every_deck():
    for doc in ("README.md", "docs/rehearsing.md"):
        text = (ROOT / doc).read_text()
        assert [path.name for path in DECKS if path.name not in text] == [], doc
