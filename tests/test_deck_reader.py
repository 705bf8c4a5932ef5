"""The deck reader and the directive parser on small decks, good and malformed."""

import pytest

from workshop.cli import WorkshopError
from workshop.deck import reader as deck
from workshop.deck.directives import DEFAULT_TIMEOUT, DirectiveError, Directives, apply
from workshop.deck.geometry import box_columns

FRONT = "---\ntitle: t\ndate: 2026-01-01\n---\n"
BOX = """```terminal-ex
command: scripts/workshop-shell
init_text: echo hi
init_wait: 'workshop$ '
init_codeblock: false
```
"""


def parse(body: str) -> deck.Deck:
    return deck.parse(FRONT + body, "small.md")


def error_of(body: str) -> str:
    with pytest.raises(deck.DeckError) as caught:
        parse(body)
    return str(caught.value)


def test_slides_titles_boxes_and_directives():
    d = parse(
        f"\n# One\n\ntext\n\n---\n\n# Two\n\n{BOX}"
        '[rehearse]: # "expect: ^hi$"\n[rehearse]: # "timeout: 5"\n[rehearse]: # "needs: docker"\n\n'
        f'{BOX}[rehearse]: # "fails"\n'
    )
    assert [s.title for s in d.slides] == ["One", "Two"]
    assert d.meta["date"] == "2026-01-01"
    first, second = d.slide(2).boxes
    assert (first.slide, first.position, first.line, first.typed) == (2, 1, 14, "echo hi")
    assert first.directives == Directives(expect=("^hi$",), timeout=5.0, needs=("docker",))
    assert second.directives.fails and second.directives.timeout == DEFAULT_TIMEOUT
    assert [b.label for b in d.boxes()] == ["slide 2 box 1", "slide 2 box 2"]


def test_separators_inside_code_blocks_do_not_split_slides():
    d = parse("\n# A\n\n```yaml\n---\nkind: Pod\n```\n\n---\n\n# B\n")
    assert len(d.slides) == 2


def test_file_blocks_are_collected():
    d = parse("\n# F\n\n```file\npath: docker_demo/server.py\nlang: python\n```\n")
    assert d.slide(1).files[0].path == "docker_demo/server.py"
    assert d.slide(1).files[0].spec["lang"] == "python"


@pytest.mark.parametrize(
    "body, needle",
    [
        (
            "\n# A\n\n```terminal-ex\ncommand: x\ninit_text: ls\n```\n",
            "line 8 (slide 1): init_text is only typed when init_wait",
        ),
        ("\n# A\n\n```terminal-ex\ncommand: x\n```\n", "must say init_codeblock: false"),
        ("\n# A\n\n```terminal-ex\ncommand: x\ninit_codeblock: false\ncwd: /tmp\n```\n", "does not accept 'cwd'"),
        ("\n# A\n\n```terminal-ex\ninit_codeblock: false\n```\n", "needs command:"),
        (
            "\n# A\n\n```terminal-ex\ncommand: [unclosed\n```\n",
            "line 8 (slide 1): the terminal-ex block is not valid YAML",
        ),
        ("\n# A\n\n```terminal8\nbash\n```\n", "'terminal8' boxes have no prompt"),
        ("\n# A\n\n```bash\nls\n", "line 8 (slide 1): the code block opened with ``` is never closed"),
        ('\n# A\n[rehearse]: # "expect: x"\n', "line 7 (slide 1): a [rehearse] directive must come after"),
        (f'\n# A\n\n{BOX}[rehearse]: # "expct: x"\n', "line 14 (slide 1): unknown directive 'expct'"),
        (f'\n# A\n\n{BOX}[rehearse]: # "expect: (unbalanced"\n', "bad regular expression"),
        (f'\n# A\n\n{BOX}[rehearse]: # "timeout: soon"\n', "timeout must be a positive number"),
        (f'\n# A\n\n{BOX}[rehearse]: # "exit: 300"\n', "exit must be a status from 0 to 255"),
        (f'\n# A\n\n{BOX}[rehearse]: # "pause: 11"\n', "pause must be a number of seconds above 0, at most 10"),
        (f'\n# A\n\n{BOX}[rehearse]: # "pause: soon"\n', "pause must be a number of seconds above 0, at most 10"),
        (f'\n# A\n\n{BOX}[rehearse]: # "needs: gpu"\n', "unknown need 'gpu'"),
        (f'\n# A\n\n{BOX}[rehearse]: # "fails"\n[rehearse]: # "exit: 2"\n', "either 'fails' or 'exit: N'"),
        (f'\n# A\n\n{BOX}[rehearse]: # "ready: up"\n[rehearse]: # "fails"\n', "ends with Ctrl-C"),
        (f"\n# A\n\n{BOX}[rehearse]: # expect: x\n", "line 14 (slide 1): a directive is written"),
        ("\n# A\ntext\n---\n\n# B\n", "line 8 (slide 1): '---' right under a line of text"),
    ],
)
def test_malformed_decks_name_the_slide_and_line(body, needle):
    assert needle in error_of(body)


def test_front_matter_problems():
    with pytest.raises(deck.DeckError, match="never closed"):
        deck.parse("---\ntitle: x\n", "f.md")
    with pytest.raises(deck.DeckError, match="not valid YAML"):
        deck.parse("---\ntitle: [x\n---\n# A\n", "f.md")


def test_missing_deck_is_one_line(tmp_path):
    with pytest.raises(WorkshopError, match="cannot read the deck"):
        deck.read(tmp_path / "nope.md")


def test_directive_values():
    d = apply(apply(Directives(), "ready: Serving on"), "timeout: 2.5")
    assert d.long_running and d.timeout == 2.5
    assert Directives(exit=137).status_ok(137) and not Directives(exit=137).status_ok(0)
    assert Directives(fails=True).status_ok(1) and not Directives(fails=True).status_ok(0)
    with pytest.raises(DirectiveError, match="takes no value"):
        apply(Directives(), "fails: yes")
    with pytest.raises(DirectiveError, match="needs a value"):
        apply(Directives(), "expect:")
    assert apply(apply(Directives(), "stuck: app=a"), "stuck: app.kubernetes.io/name=b").stuck == (
        "app=a",
        "app.kubernetes.io/name=b",
    )
    with pytest.raises(DirectiveError, match="one label as key=value"):
        apply(Directives(), "stuck: app in (a,b)")


def test_slide_ranges_and_box_width():
    assert deck.parse_slide_ranges("4-6, 2,4", 10) == [2, 4, 5, 6]
    with pytest.raises(WorkshopError):
        deck.parse_slide_ranges("0-2", 10)
    assert box_columns({}) == 94  # lookatme's default padding, as measured at 120 columns
    assert box_columns({"styles": {"padding": {"left": 4, "right": 4}}}) == 106
