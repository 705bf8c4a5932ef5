"""scripts/export-html: the static site of the deck. Fast tests read the written files; the slow one
opens the site from file:// in Debian's Chromium (headless, driven by playwright-core through
web/check-export.cjs) and compares what it shows with the deck."""

import json
import os
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import need, run_command
from workshop.cli import WorkshopError
from workshop.deck import reader
from workshop.export import casts, export, hidden, player
from workshop.paths import ROOT
from workshop.rehearsal.recordings import Recording, cast_name, load

DECK = reader.read()
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_SLIDES = (2, 3, 12, 24)  # prose and two players; a file; four players; Kubernetes
DOCS_SHOT = ROOT / "docs" / "export-screenshot.png"


def plain(title: str) -> str:
    """A title as a browser shows it: without the Markdown of inline code and emphasis."""
    return re.sub(r"`|\*\*", "", title)


def player_available() -> None:
    need(
        player.installed() == player.pinned() or shutil.which("npm") is not None,
        "npm (to install the asciinema player into web/node_modules)",
        "install Node.js and npm",
    )


class Page(HTMLParser):
    """The slides of an exported index.html: id, first heading, counter, boxes, notes, text."""

    def __init__(self, text: str):
        super().__init__()
        self.slides: list[dict] = []
        self._in = None
        self._stack: list[list[str]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "section" and "slide" in classes:
            self.slides.append(
                {
                    "id": attrs["id"],
                    "h1": "",
                    "counter": "",
                    "boxes": [],
                    "players": [],
                    "missing": [],
                    "commands": [],
                    "text": "",
                }
            )
        if not self.slides:
            return
        slide = self.slides[-1]
        if tag == "figure" and "box" in classes:
            slide["boxes"].append(attrs["id"])
        if tag == "div" and "player" in classes:
            slide["players"].append(attrs["data-cast"])
        for name in ("h1", "counter", "no-recording", "command"):
            if tag == name or name in classes:
                self._stack.append([name, tag, ""])

    def handle_endtag(self, tag):
        if self._stack and self._stack[-1][1] == tag:
            name, _, text = self._stack.pop()
            slide = self.slides[-1]
            if name in ("h1", "counter") and not slide[name]:
                slide[name] = text
            elif name == "no-recording":
                slide["missing"].append(text)
            elif name == "command":
                slide["commands"].append(text)

    def handle_data(self, data):
        for entry in self._stack:
            entry[2] += data
        if self.slides:
            self.slides[-1]["text"] += data


def every_file(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    player_available()
    out = tmp_path_factory.mktemp("site")
    summary = export(out)
    return out, summary, Page((out / "index.html").read_text(encoding="utf-8"))


# -- fast: the files written --------------------------------------------------------------------


def test_every_slide_in_order_with_its_title_counter_and_boxes(site):
    out, summary, page = site
    total = len(DECK.slides)
    assert (summary.slides, summary.boxes, summary.missing) == (total, len(list(DECK.boxes())), [])
    assert [s["id"] for s in page.slides] == [f"slide-{n}" for n in range(1, total + 1)]
    for slide, seen in zip(DECK.slides, page.slides, strict=True):
        assert seen["h1"] == plain(slide.title), slide.number
        assert seen["counter"] == f"slide {slide.number} / {total}"
        assert seen["boxes"] == [f"box-{b.id}" for b in slide.boxes]
        assert seen["players"] == [cast_name(b)[:-5] for b in slide.boxes]
        assert seen["commands"] == [b.typed for b in slide.boxes]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert (
        "<ol>" in index
        and "<li>" in index
        and "<strong>Docker</strong>" in index
        and "<code>docker_demo/server.py</code>" in index
    )


def test_no_directive_or_note_of_the_deck_is_exported(site):
    out, _, _ = site
    text = every_file(out)
    for marker in ("[rehearse]", "[notes]", "[//]", "]: #"):
        assert marker not in text
    for slide in DECK.slides:
        for line in hidden.hidden(slide.lines):
            assert line.strip() not in text, (slide.number, line)
        for note in getattr(slide, "notes", []):  # the reader keeps the speaker's notes apart
            assert note not in text, (slide.number, note)


def test_hidden_text_never_reaches_the_site_and_a_missing_recording_is_said(tmp_path):
    deck = tmp_path / "deck.md"
    (tmp_path / "shown.py").write_text("zero = 0\none = 1\ntwo = 2\nthree = 3\n")
    box = (
        "```terminal-ex\ncommand: scripts/workshop-shell\ninit_text: echo {0}\ninit_wait: 'workshop$ '\n"
        "init_codeblock: false\n```\n"
    )
    deck.write_text(
        "---\ntitle: Hidden things\nauthor: t\ndate: 2026-01-01\n---\n\n# One\n\nvisible-before\n\n"
        '[notes]: # "SECRET-NOTE-1 for the speaker"\n\nvisible-after\n\n'
        '[//]: # (SECRET-COMMENT-2)\n[notes]: # "SECRET-NOTE-3, a second note"\n\n'
        "```file\npath: shown.py\nlang: python\nlines:\n  start: 1\n  end: 3\n```\n\n---\n\n# Two\n\n"
        + box.format("recorded")
        + '[rehearse]: # "expect: SECRET-DIRECTIVE-6"\n'
        + '[rehearse]: # "timeout: 7"\n\n'
        + box.format("never-recorded")
        + "\nthe end\n"
    )
    recorded = tmp_path / "recordings"
    cast = Recording(80, 3, "echo recorded")
    cast.output(0.0, "workshop$ ")
    cast.marker(0.01, "enter")
    cast.output(0.02, "echo recorded\r\nrecorded\r\n")
    cast.output(0.03, "workshop$ ")
    cast.output(0.04, "exit\r\n")
    cast.write(recorded / "slide-02-box-1.cast")
    player_available()
    summary = export(tmp_path / "site", deck_path=deck, recordings_dir=recorded)
    text = every_file(tmp_path / "site")
    assert not re.findall(r"SECRET-\w+", text)
    assert "visible-before" in text and "visible-after" in text and "the end" in text
    assert summary.missing == ["slide-02-box-2.cast"] and "run scripts/record" in summary.line()
    page = Page((tmp_path / "site" / "index.html").read_text())
    two = page.slides[1]
    assert two["players"] == ["slide-02-box-1"] and two["commands"] == ["echo recorded", "echo never-recorded"]
    assert len(two["missing"]) == 1
    assert "slide-02-box-2.cast" in two["missing"][0] and "scripts/record" in two["missing"][0]
    assert "one = 1\ntwo = 2\n" in unescape(re.sub(r"<[^>]+>", "", (tmp_path / "site" / "index.html").read_text()))
    played = (tmp_path / "site" / "casts" / "slide-02-box-1.js").read_text()
    assert "recorded" in played and "exit" not in played and '\\"m\\"' in played


def test_every_box_without_a_recording_shows_its_command_and_a_note(tmp_path):
    player_available()
    summary = export(tmp_path / "site", recordings_dir=tmp_path / "none")
    page = Page((tmp_path / "site" / "index.html").read_text())
    boxes = list(DECK.boxes())
    assert summary.missing == [cast_name(b) for b in boxes]
    assert not any(s["players"] for s in page.slides)
    for slide, seen in zip(DECK.slides, page.slides, strict=True):
        assert seen["commands"] == [b.typed for b in slide.boxes]
        for box, note in zip(slide.boxes, seen["missing"], strict=True):
            assert cast_name(box) in note and "scripts/record" in note and "does not exist" in note


def test_file_blocks_show_their_slice_highlighted(site):
    out, _, _ = site
    index = (out / "index.html").read_text(encoding="utf-8")
    blocks = re.findall(r'<figure class="file">(.*?)</figure>', index, re.S)
    specs = [f.spec for s in DECK.slides for f in s.files]
    assert len(blocks) == len(specs)
    for spec, block in zip(specs, blocks, strict=True):
        lines = spec.get("lines") or {}
        want = (ROOT / spec["path"]).read_text().splitlines()[lines.get("start") or 0 : lines.get("end")]
        code = unescape(re.sub(r"<[^>]+>", "", block.split("</figcaption>", 1)[1]))
        assert code.rstrip("\n").splitlines() == want, spec
        assert '<span class="k' in block or '<span class="n' in block, f"{spec['path']} is not highlighted"
    assert ".highlight" in (out / "assets" / "pygments.css").read_text()


def test_the_player_is_pinned_copied_and_needs_no_network(site):
    out, _, _ = site
    package = json.loads((player.WEB / "package.json").read_text())
    lock = json.loads((player.WEB / "package-lock.json").read_text())
    for kind in ("dependencies", "devDependencies"):
        for name, version in package[kind].items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned exactly: {version}"
            assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert "node_modules" in (ROOT / ".gitignore").read_text()
    for name in player.BUNDLE:
        assert (out / "assets" / name).read_bytes() == (player.bundle_dir() / name).read_bytes()
    index = (out / "index.html").read_text()
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', index)
    for box in DECK.boxes():
        name = cast_name(box)
        assert f'src="casts/{name[:-5]}.js"' in index
        assert (out / "casts" / name).read_bytes() == (ROOT / "recordings" / name).read_bytes()


def test_a_recording_plays_up_to_the_prompt_after_its_output():
    events = [
        (0.0, "o", "workshop$ "),
        (0.1, "m", "enter"),
        (0.2, "o", "ls\r\n"),
        (0.3, "o", "a  b\r\n"),
        (0.4, "o", "\x1b[?2004hworkshop$ "),
        (0.5, "o", "exit\r\n"),
    ]
    assert casts.until_next_prompt(events) == events[:5]
    assert casts.until_next_prompt(events[:1] + events[2:]) == events[:1] + events[2:]  # no marker: all
    _, real = load(ROOT / "recordings" / "curl-server.cast")
    kept = casts.until_next_prompt(real)
    assert kept[-1][2].endswith("workshop$ ") and any(kind == "m" for _, kind, _ in kept)


def test_hidden_lines_include_a_title_over_several_lines():
    lines = ["text", '[notes]: # "one', 'two"', "after", "[//]: # (c)", "[x]: #anchor", "[y]: #"]
    assert hidden.split(lines) == (
        ["text", "after", "[x]: #anchor"],
        ['[notes]: # "one', 'two"', "[//]: # (c)", "[y]: #"],
    )


def run_export(*args):
    return run_command("export_html", *args, timeout=120)


def test_the_command_prints_one_line(tmp_path):
    player_available()
    done = run_export(tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("export-html: ")
    assert f"{len(DECK.slides)} slides" in done.stdout and "MB in" in done.stdout


@pytest.mark.parametrize("case", ["a file", "under a file", "no deck"])
def test_bad_input_is_one_line_never_a_traceback(tmp_path, case):
    file = tmp_path / "file"
    file.write_text("x")
    args = {
        "a file": [file],
        "under a file": [file / "site"],
        "no deck": [tmp_path / "out", "--deck", tmp_path / "missing.md"],
    }[case]
    done = run_export(*args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("export-html: "), done.stderr
    assert {
        "a file": "is a file, not a folder",
        "under a file": "cannot create the folder",
        "no deck": "cannot read the deck",
    }[case] in done.stderr
    with pytest.raises(WorkshopError):
        export(*args[:1], **({"deck_path": args[2]} if case == "no deck" else {}))


# -- slow: in a real browser --------------------------------------------------------------------


@pytest.mark.beside
@pytest.mark.slow
def test_the_site_in_headless_chromium(tmp_path):
    need(os.access(CHROMIUM, os.X_OK), "Debian's chromium", "apt-get install -y chromium")
    need(shutil.which("node") is not None, "Node.js", "install nodejs and npm")
    player_available()
    summary = export(tmp_path / "site")
    (tmp_path / "shots").mkdir()
    config = {
        "site": str(summary.index),
        "profile": str(tmp_path / "profile"),
        "chromium": CHROMIUM,
        "shots": str(tmp_path / "shots"),
        "shotSlides": list(SCREENSHOT_SLIDES),
        "out": str(tmp_path / "report.json"),
    }
    done = subprocess.run(
        ["node", str(player.WEB / "check-export.cjs"), json.dumps(config)],
        cwd=player.WEB,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    total, boxes = len(DECK.slides), list(DECK.boxes())
    assert (report["total"], report["allPlayers"]) == (total, len(boxes))
    assert report["consoleErrors"] == [] and report["pageErrors"] == []
    assert report["requests"] == [], "the site asked the network for something"

    for slide, seen in zip(DECK.slides, report["slides"], strict=True):
        n = slide.number
        assert seen["shown"] == [f"slide-{n}"], f"Right arrow to slide {n}: {seen['shown']} shown"
        assert seen["hash"] == ("" if n == 1 else f"#slide-{n}")
        assert seen["counter"] == f"slide {n} / {total}"
        assert seen["title"] == plain(slide.title) and seen["titleOnScreen"]
        assert seen["commands"] == [box.typed for box in slide.boxes]
        assert seen["notes"] == []
        for box, played in zip(slide.boxes, seen["players"], strict=True):
            assert played["cast"] == cast_name(box)[:-5]
            assert played["state"] == "loaded" and played["duration"] > 0 and played["markers"] >= 1, played
            assert played["width"] > 600 and played["height"] > 40, played
            assert played["terminal"].rstrip().endswith("workshop$"), played["terminal"][-200:]
        if n in SCREENSHOT_SLIDES:  # the DOM's visible text says what the deck says
            text = " ".join(seen["text"].split())
            assert plain(slide.title) in text
            for box in slide.boxes:
                assert box.typed and " ".join(box.typed.split()) in text
            for spec, shown in zip([f.spec for f in slide.files], seen["files"], strict=True):
                first = (ROOT / spec["path"]).read_text().splitlines()[(spec.get("lines") or {}).get("start") or 0]
                assert shown.splitlines()[0] == first

    assert report["pastEnd"] == f"#slide-{total}"
    assert report["back"] == [f"#slide-{n}" for n in range(total - 1, 0, -1)]
    after = report["afterPlayerArrow"]
    assert after["hash"] == f"#slide-{after['from'] + 1}", "a click into a player took the arrows away"
    step = report["afterStep"]
    box = next(b for b in boxes if f"box-{b.id}" == step["id"])
    marker = next(at for at, kind, _ in load(ROOT / "recordings" / cast_name(box))[1] if kind == "m")
    assert [round(s["time"], 3) for s in step["landings"]] == [round(marker, 3)]
    shots = sorted(Path(p).name for p in report["shots"])
    assert shots == [f"slide-{n:02d}.png" for n in SCREENSHOT_SLIDES]
    assert all(Path(p).stat().st_size > 20_000 for p in report["shots"])
    if os.environ.get("WORKSHOP_UPDATE_SCREENSHOT"):  # refresh docs/export-screenshot.png
        shutil.copyfile(tmp_path / "shots" / "slide-02.png", DOCS_SHOT)
