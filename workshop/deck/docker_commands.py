"""What the deck's boxes ask Docker to do, read from their command lines: the `docker ...`
commands in a shell line, the images they run and build from, the names they give containers.
doctor checks these images are present; cleanup and reset go by these names."""

import re
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from workshop.deck import reader
from workshop.paths import ROOT

NAME_FLAG = re.compile(r"--name[= ]([A-Za-z0-9][\w.-]*)")
_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)


def dockerfile_bases(text: str) -> list[str]:
    """The external images a Dockerfile builds FROM (not scratch, earlier stages or ${ARG} refs)."""
    stages, bases = set(), []
    for line in text.splitlines():
        match = _FROM.match(line)
        if not match:
            continue
        image, stage = match.group(1), match.group(2)
        if image.lower() != "scratch" and image.lower() not in stages and "$" not in image and image not in bases:
            bases.append(image)
        if stage:
            stages.add(stage.lower())
    return bases


_SEPARATORS = {"&&", "||", ";", "|", "&"}
# docker run options that take no value; any other option is assumed to take the next word
_RUN_SWITCHES = {
    "-i",
    "-t",
    "-it",
    "-ti",
    "-d",
    "-dit",
    "--rm",
    "--init",
    "--privileged",
    "--interactive",
    "--tty",
    "--detach",
    "--read-only",
    "-P",
    "--publish-all",
}


def docker_commands(line: str) -> list[list[str]]:
    """The `docker ...` commands in one shell line, as word lists."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return []
    commands: list[list[str]] = []
    current: list[str] = []
    for word in words + [";"]:
        if word in _SEPARATORS:
            if current[:1] == ["docker"]:
                commands.append(current)
            current = []
        else:
            current.append(word)
    return commands


def option(words: list[str], *names: str) -> str | None:
    for index, word in enumerate(words):
        if word in names and index + 1 < len(words):
            return words[index + 1]
        for name in names:
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def run_image(words: list[str]) -> str | None:
    """The IMAGE of `docker run [OPTIONS] IMAGE [COMMAND]`."""
    index = 2
    while index < len(words):
        word = words[index]
        if not word.startswith("-"):
            return word
        index += 1 if (word in _RUN_SWITCHES or "=" in word) else 2
    return None


def _boxes(the_deck: reader.Deck | None) -> list[reader.Box]:
    """The boxes of this deck; by default, the lecture's and then the extras' (one workshop, two decks)."""
    if the_deck is not None:
        return list(the_deck.boxes())
    return [box for path in reader.workshop_decks() for box in reader.read(path).boxes()]


def deck_images(the_deck: reader.Deck | None = None) -> list[str]:
    """The images the deck's boxes start from: `docker run IMAGE` and the FROM lines of the
    Dockerfiles its `docker build` boxes use, leaving out the images the deck builds itself."""
    built, used = set(), []
    for box in _boxes(the_deck):
        for words in docker_commands(box.typed or ""):
            action = words[1] if len(words) > 1 else ""
            found: list[str] = []
            if action == "build":
                tag = option(words, "-t", "--tag")
                if tag:
                    built.add(tag)
                context = next((w for w in reversed(words[2:]) if not w.startswith("-")), ".")
                dockerfile = ROOT / (option(words, "-f", "--file") or str(Path(context) / "Dockerfile"))
                if dockerfile.is_file():
                    found = dockerfile_bases(dockerfile.read_text(errors="replace"))
            elif action == "run":
                found = [image for image in [run_image(words)] if image]
            for image in found:
                if image not in built and image not in used and "$" not in image:
                    used.append(image)
    return used


def container_names(commands: Iterable[str]) -> set[str]:
    """The names given with --name in these commands."""
    return {match.group(1) for command in commands for match in NAME_FLAG.finditer(command)}


class Declared(NamedTuple):
    """The exact names the deck's boxes give things: containers (--name), images (-t), pushes."""

    containers: set[str]
    images: set[str]
    pushes: set[str]
    volumes: set[str]  # named volumes (-v NAME:/path), which nothing records the deck made


def declared(the_deck: reader.Deck | None = None) -> Declared:
    containers, images, pushes, volumes = set(), set(), set(), set()
    for box in _boxes(the_deck):
        for words in docker_commands(box.typed or ""):
            action = words[1] if len(words) > 1 else ""
            if action in ("run", "create"):
                name = option(words, "--name")
                if name:
                    containers.add(name)
                for index, word in enumerate(words[:-1]):
                    source = words[index + 1].split(":")[0] if word in ("-v", "--volume") else ""
                    if source and not source.startswith(("/", ".", "~", "$")):
                        volumes.add(source)
            elif action == "build":
                tag = option(words, "-t", "--tag")
                if tag:
                    images.add(tag)
            elif action == "push" and len(words) > 2:
                pushes.add(words[-1])
    return Declared(containers, images, pushes, volumes)
