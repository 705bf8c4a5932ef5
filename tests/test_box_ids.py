"""The deck names its boxes (`[rehearse]: # "id: NAME"`) and says where each student step starts and
ends (`step:`): recordings are ID.cast, and the code finds boxes by id, so inserting a slide moves
nothing the code or the recordings point at."""

import pytest

from conftest import run_command
from test_tui_rehearsal import with_slide_inserted
from workshop.deck import reader
from workshop.paths import DECK, DECKS, recordings_for
from workshop.rehearsal import fit, recordings, step_checks

BOX = "```terminal-ex\ncommand: scripts/workshop-shell\ninit_text: echo hi\ninit_wait: 'workshop$ '\n```\n"
BOTH = pytest.mark.parametrize("deck_path", list(DECKS), ids=lambda path: path.name)


@BOTH
def test_every_box_has_an_id_and_its_recording_is_named_by_it_with_none_left_over(deck_path):
    deck = reader.read(deck_path)
    folder = recordings_for(deck_path)
    unnamed = [box.label for box in deck.boxes() if not box.directives.id]
    assert unnamed == []
    assert [box.id for box in deck.boxes() if not (folder / recordings.cast_name(box)).is_file()] == []
    assert recordings.orphans(deck, folder) == []


def test_an_id_given_twice_is_one_line_naming_both_boxes():
    box = BOX
    text = f'# One\n\n{box}[rehearse]: # "id: hello"\n\n---\n\n# Two\n\n{box}[rehearse]: # "id: hello"\n'
    with pytest.raises(reader.DeckError) as error:
        reader.parse(text, "twice.md")
    assert str(error.value).count("\n") == 0
    assert "twice.md line 14 (slide 2)" in str(error.value) and "already slide 1 box 1's" in str(error.value)


@pytest.mark.parametrize("bad", ["id: Hello", "id: a b", "step: deployed", "step: deployed begin", "step: X start"])
def test_a_malformed_id_or_step_is_one_line(bad):
    text = f'# One\n\n{BOX}[rehearse]: # "{bad}"\n'
    with pytest.raises(reader.DeckError) as error:
        reader.parse(text, "bad.md")
    assert str(error.value).count("\n") == 0 and "bad.md line 8 (slide 1)" in str(error.value)


def test_record_prune_removes_only_the_recordings_no_box_names(tmp_path):
    keep = ["server.cast", "curl-server.cast", "README.md", "notes.txt"]
    gone = ["slide-02-box-1.cast", "old-name.cast"]
    for name in keep + gone:
        (tmp_path / name).write_text("{}\n")
    (tmp_path / "extras").mkdir()
    (tmp_path / "extras" / "orphan.cast").write_text("{}\n")
    done = run_command("record", "--prune", "--recordings", tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep + ["extras"])
    assert (tmp_path / "extras" / "orphan.cast").is_file()  # another deck's folder is not this deck's
    assert done.stdout.count("record: removed ") == 2 and "2 recordings removed" in done.stdout


def test_a_slide_inserted_at_10_leaves_every_recording_check_and_step_window_in_place(tmp_path):
    lecture, moved = reader.read(DECK), reader.read(with_slide_inserted(DECK, 10, tmp_path))

    def shifted(label: str) -> str:
        _, slide, _, box = label.split()
        return f"slide {int(slide) + (int(slide) >= 10)} box {box}"

    assert fit.misfits(moved, recordings_for(DECK)) == []  # every box's recording found and on screen
    before, after = step_checks.StepChecks(lecture).steps, step_checks.StepChecks(moved).steps
    assert before and {(shifted(label), moment): steps for (label, moment), steps in before.items()} == after
    for step in ("deployed", "scaled", "repaired"):
        assert [b.id for b in moved.step_boxes(step, "done")] == [b.id for b in lecture.step_boxes(step, "done")]
