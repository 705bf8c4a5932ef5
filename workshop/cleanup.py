"""Stop what a rehearsal started, and only that: its shells, every process left in their
terminal sessions, and the containers its commands named (`--name workshop-...`) that were
created while it ran. A container someone else starts meanwhile is never touched."""
import os
import re
import signal
from typing import Iterable, List, Optional, Set

from . import docker_engine

NAME_FLAG = re.compile(r"--name[= ]([A-Za-z0-9][\w.-]*)")


def session_processes(sid: int) -> List[int]:
    """Processes whose session id is sid (Linux /proc; elsewhere closing the terminal's hang-up does it)."""
    found = []
    if not os.path.isdir("/proc"):
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and int(entry) != os.getpid():
            found.append(int(entry))
    return found


def kill_session(sid: int) -> None:
    for pid in session_processes(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def container_ids() -> Optional[Set[str]]:
    out = docker_engine.output("ps", "-aq", "--no-trunc")
    return None if out is None else set(out.split())


def container_names(commands: Iterable[str]) -> Set[str]:
    """The names given with --name in these commands."""
    return {match.group(1) for command in commands for match in NAME_FLAG.finditer(command)}


def named_containers(ids: Set[str], names: Set[str]) -> List[str]:
    """Of these containers, the ones whose name is in names."""
    if not ids or not names:
        return []
    out = docker_engine.output("inspect", "--format", "{{.Name}} {{.Id}}", *sorted(ids))
    pairs = (line.split() for line in (out or "").splitlines())
    return [container for name, container in pairs if name.lstrip("/") in names]


class Tracker:
    """Remembers what existed before, and what was started since."""

    def __init__(self, container_names: Iterable[str] = ()):
        self.sessions = []
        self.names = set(container_names)
        self.containers_before: Optional[Set[str]] = None

    def snapshot(self) -> None:
        self.containers_before = container_ids()

    def add_session(self, session) -> None:
        self.sessions.append(session)

    def close_session(self, session) -> None:
        sid = session.process.pid
        session.close()
        kill_session(sid)
        if session in self.sessions:
            self.sessions.remove(session)

    def clean(self) -> None:
        for session in list(self.sessions):
            self.close_session(session)
        if self.containers_before is None or not self.names:
            return
        created = (container_ids() or set()) - self.containers_before
        leftovers = named_containers(created, self.names)
        if leftovers:
            docker_engine.output("rm", "-f", *leftovers)
