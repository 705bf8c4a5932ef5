"""Every slide of slides.md and of extras.md renders through lookatme's own TUI, in-process, without a terminal."""

import shutil

import pytest

from conftest import need
from support.render import render_deck
from workshop.paths import DECK, DECKS

COLS, ROWS = 120, 40


@pytest.fixture(scope="module", params=list(DECKS), ids=lambda path: path.name)
def which(request):
    return request.param


@pytest.fixture(scope="module")
def rendered(which):
    return render_deck(which, COLS, ROWS)


@pytest.fixture(scope="module")
def rendered_tall(which):
    return render_deck(which, COLS, 200)


def test_every_slide_renders_without_errors(rendered):
    problems = {r.number: r.problems() for r in rendered if r.problems()}
    assert problems == {}


def test_directives_stay_hidden(rendered):
    for slide in rendered:
        assert "rehearse" not in slide.text and "expect:" not in slide.text, f"slide {slide.number} shows a directive"


def body(screen):
    """The slide's lines without the footer (the last non-empty line) and trailing blanks."""
    lines = list(screen)
    while lines and not lines[-1].strip():
        lines.pop()
    lines = lines[:-1]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def test_no_slide_is_taller_than_the_screen(rendered, rendered_tall):
    too_tall = [
        short.number
        for short, tall in zip(rendered, rendered_tall, strict=True)
        if body(short.screen) != body(tall.screen)
    ]
    assert too_tall == [], f"these slides do not fit in {COLS}x{ROWS}"


def test_no_line_is_wider_than_the_screen(rendered_tall):
    for slide in rendered_tall:
        assert max(len(line) for line in slide.screen) <= COLS


BREAKAGES = [
    ("path: docker_demo/server.py", "path: docker_demo/no-such-file.py", "File not found"),
    (
        "rows: 5\ninit_text: python docker_demo/server.py\ninit_wait: 'workshop$ '\ninit_codeblock: false",
        "rows: 5\ninit_codeblock: true",
        "AttributeError",
    ),
    ("```file\npath: docker_demo/server.py\nlang: python\n```", "<!-- a block comment -->", "render_close_html"),
]


@pytest.mark.parametrize("original, broken, symptom", BREAKAGES)
def test_a_broken_copy_of_the_deck_is_caught(tmp_path, original, broken, symptom):
    text = DECK.read_text()
    assert original in text
    copy = tmp_path / "slides.md"
    copy.write_text(text.replace(original, broken, 1))
    shutil.copytree(DECK.parent / "docker_demo", tmp_path / "docker_demo")
    shutil.copytree(DECK.parent / "k8s_demo", tmp_path / "k8s_demo")
    problems = [p for r in render_deck(copy, COLS, ROWS) for p in r.problems()]
    assert any(symptom in p for p in problems), problems


def test_live_boxes_show_their_pre_typed_command():
    """With expect installed, each box's shell starts and the command appears at once (no 10 s stall)."""
    need(shutil.which("expect") is not None, "expect", "apt-get install -y expect")
    (slide,) = render_deck(DECK, COLS, ROWS, pump=2.0, only=[2])
    # slide 2 has two boxes; each shows the prompt and its typed command
    text = slide.text
    assert "workshop$ python docker_demo/server.py" in text
    assert "workshop$ curl -s localhost:3000" in text
