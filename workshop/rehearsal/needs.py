"""What the chosen boxes need besides a shell (their `needs:` directives), checked once, up front,
so a rehearsal with no engine or no cluster stops at once with the fix instead of failing box by box."""

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from workshop.cluster import kubectl
from workshop.deck import reader
from workshop.deck.docker_commands import container_names
from workshop.deck.reader import Box
from workshop.machine import ports, processes, registry
from workshop.machine.engine import ENGINE as engine
from workshop.paths import ROOT
from workshop.rehearsal import boxes as named


def registry_there() -> bool:
    """The registry the deck's images come from. On a student's namespace of a class cluster it is the
    teacher's, which the nodes pull from (scripts/class up checked that they can) and which a student's
    laptop does not reach: nothing of it is needed there."""
    from workshop.cluster import providers

    return providers.is_student() or registry.status(timeout=1)


# need -> (is it there?, what to do when it is not)
CHECKS: dict[str, tuple[Callable[[], bool], str]] = {
    "docker": (
        lambda: engine.server_version(timeout=5) is not None,
        "no Docker engine answers: start Docker (Docker Desktop), or run scripts/prepare engine",
    ),
    "registry": (
        registry_there,
        "the local registry does not answer on localhost:5001: run scripts/prepare registry app-images",
    ),
    "cluster": (lambda: kubectl.cluster_ready(timeout=5), "no workshop cluster answers: run scripts/cluster up"),
}


# a box that needs the nodes themselves (the drain), on a student's namespace of a class cluster
STUDENT_SKIP = "needs more than your namespace on the class's cluster: this slide is your teacher's to show"


def worker_nodes(timeout: float = 15) -> int:
    """How many nodes of the workshop cluster take ordinary pods (no control-plane taint)."""
    done = kubectl.run("get", "nodes", "-o", "json", timeout=timeout, check=False)
    if done.returncode != 0:
        return 0
    taints = [
        [t.get("key") for t in node.get("spec", {}).get("taints") or []]
        for node in json.loads(done.stdout or "{}").get("items", [])
    ]
    return sum("node-role.kubernetes.io/control-plane" not in keys for keys in taints)


def skip_reason(box: Box, workers: Callable[[], int]) -> str:
    """Why a box is skipped on this cluster ('' when it runs): a several-node lesson on one node."""
    if "nodes" in box.directives.needs and "cluster" in box.directives.needs:
        from workshop.cluster import providers

        if providers.is_student():
            return STUDENT_SKIP
        count = workers()
        if count < 2:
            return f"needs 2 or more worker nodes; this cluster has {count} (scripts/cluster up --provider kind)"
    return ""


def needed(boxes: Iterable[Box], without: Iterable[str] = ()) -> list[str]:
    """The needs of these boxes, in CHECKS order, less the ones left out."""
    wanted = {need for box in boxes for need in box.directives.needs} - set(without)
    return [need for need in CHECKS if need in wanted]


# the files the deck's own boxes edit and later set back, and what each holds as committed
WORKER_FILE = "k8s_demo/ok-worker.yaml"  # the scaling slides: replicas 1 -> 3; the recap: 3 -> 1
WORKER_REPLICAS = re.compile(r"^  replicas: (\d+)$", re.MULTILINE)
TYPO_FILE = "k8s_demo/typo.yaml"  # the crash lesson's fix: "0.3s" -> "0.3"; its last box puts the typo back
TYPO_VALUE = re.compile(r'^ +value: "([^"]*)" +# the typo', re.MULTILINE)


class EditedFile(NamedTuple):
    path: str
    value: re.Pattern  # finds what the deck's boxes change
    committed: str  # what it finds in the file as committed
    what: str  # what that is, in the fix's words
    set_back_by: str  # the box that puts it back
    used_by: tuple[str, ...]  # the ids of the boxes that need it as committed


EDITED_FILES = (
    EditedFile(WORKER_FILE, WORKER_REPLICAS, "1", "replicas", "the recap", (named.APPLY, named.SCALE_EDIT)),
    EditedFile(
        TYPO_FILE,
        TYPO_VALUE,
        "0.3s",
        "GRADE_SECONDS",
        "the crash lesson's last box",
        (named.TYPO_APPLY, named.TYPO_DIFF),
    ),
)


def file_left_edited(boxes: Iterable[Box], root: Path | None = None) -> str | None:
    """The fix when one of the deck's own edits is still there (an earlier run stopped between the box
    that edits a file and the one that sets it back): the deploy would start three workers, not one,
    or the crash lesson would not crash."""
    names = {box.id for box in boxes}
    for edited in EDITED_FILES:
        if not names & set(edited.used_by):
            continue
        found = edited.value.findall(((root or ROOT) / edited.path).read_text())
        if found != [edited.committed]:
            return (
                f"{edited.path} holds {edited.what} {', '.join(found) or '(none)'}, and the deck starts from "
                f"{edited.committed} (an earlier run stopped before {edited.set_back_by} set it back): run git diff "
                f"{edited.path}, and put {edited.committed} back"
            )
    return None


def first_unmet(boxes: Iterable[Box], without: Iterable[str] = (), files: bool = True) -> str | None:
    """The fix for the first need that is not met, or None when every need is. files=False leaves out the
    check of the file the scaling slide edits: catch-up goes on from wherever the last run stopped."""
    boxes = list(boxes)
    if files and "cluster" not in without:
        edited = file_left_edited(boxes)
        if edited:
            return edited
    for need in needed(boxes, without):
        present, fix = CHECKS[need]
        if not present():
            leave_out = f", or leave those boxes out with --without {need}" if need != "docker" else ""
            return fix + leave_out
    return None


# what a box prints when the port it publishes or listens on is taken
PORT_TAKEN = re.compile(
    r"(?:0\.0\.0\.0|127\.0\.0\.1|localhost|\[::\])?:(\d+)[^\n]*(?:address already in use|"
    r"port is already allocated)|port (\d+)[^\n]* in use",
    re.IGNORECASE,
)

# the local ports a box listens on
BINDS = re.compile(r"port-forward\s+\S+\s+(?:[\w.-]+\s+)*?(\d+):\d+|(?:^|\s)-p\s+(?:[\d.]+:)?(\d+):\d+")


def explain_failure(box: Box, output: str) -> str | None:
    """One line on why a box failed that the box's own output may not make plain, with the fix."""
    for need in ("docker", "registry", "cluster"):
        if need in box.directives.needs or (need == "registry" and registry.ADDRESS in (box.typed or "")):
            present, fix = CHECKS[need]
            if not present():
                return f"fix: {fix.replace('no Docker engine answers', 'the Docker engine stopped answering')}"
    taken = PORT_TAKEN.search(output)
    if taken:
        return _taken(int(next(group for group in taken.groups() if group)))
    return None


def _taken(port: int) -> str:
    holder = ports.listener(port)
    own = _deck_leftover(port, holder)
    if own:
        return own
    who = f"{holder[1]} (pid {holder[0]})" if holder else "another program"
    stop = f"kill {holder[0]}" if holder else f"`{ports.finder(port)}` shows it"
    return f"fix: port {port} is taken by {who}, not by the deck: stop it ({stop}), then run the box again"


def _deck_leftover(port: int, holder: tuple[int, str] | None) -> str | None:
    """The fix when what holds the port is the deck's own: a container a box names, or a box's
    command still running from an earlier deck that did not end cleanly."""
    deck = reader.read()
    names = set(container_names(box.typed or "" for box in deck.boxes()))
    for name in engine.containers_publishing(port):
        if name in names:
            return (
                f"fix: port {port} is held by the container {name}, which a box of this deck starts and an "
                f"earlier deck left running: remove it (docker rm -f {name}), then run the box again"
            )
    if holder:
        command = " ".join(processes.command_line(holder[0]))
        typed = {box.typed for box in deck.boxes() if box.typed}
        if any(command.endswith(line) for line in typed):
            return (
                f"fix: port {port} is held by `{command}` (pid {holder[0]}), a box's command that an "
                f"earlier deck left running: stop it (kill {holder[0]}), then run the box again"
            )
    return None


def port_in_the_way(box: Box) -> str | None:
    """The fix when a port this box listens on (`-p 8000:3000`, `port-forward ... 8080:80`) is already
    taken, before it runs: kubectl would forward on [::1] alone and the next curl reach the other server."""
    for found in BINDS.finditer(box.typed or ""):
        port = int(next(group for group in found.groups() if group))
        if ports.busy(port):
            return _taken(port)
    return None
