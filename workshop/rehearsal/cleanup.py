"""Stop what a rehearsal started, and only that: its shells, every process left in their
terminal sessions, and the containers its commands named (`--name workshop-...`) that were
created while it ran. A container someone else starts meanwhile is never touched."""

from collections.abc import Iterable

from workshop.machine import processes
from workshop.machine.engine import ENGINE as engine


def container_ids(timeout: float = 60) -> set[str] | None:
    return engine.container_ids(timeout=timeout)


def named_containers(ids: set[str], names: set[str]) -> list[str]:
    """Of these containers, the ones whose name is in names."""
    if not ids or not names:
        return []
    return sorted(container for container, name in engine.container_names(ids).items() if name in names)


def remove_created(before: set[str] | None, names: set[str]) -> None:
    """Remove the containers created since `before` (a container_ids() snapshot) whose name is in names."""
    if before is None or not names:
        return
    leftovers = named_containers((container_ids() or set()) - before, names)
    if leftovers:
        engine.remove_container(*leftovers)


class Tracker:
    """Remembers what existed before, and what was started since."""

    def __init__(self, container_names: Iterable[str] = ()):
        self.sessions: list = []
        self.names = set(container_names)
        self.containers_before: set[str] | None = None

    def snapshot(self) -> None:
        self.containers_before = container_ids()

    def add_session(self, session) -> None:
        self.sessions.append(session)

    def close_session(self, session) -> None:
        sid = session.process.pid
        session.close()
        processes.kill(processes.in_session(sid))
        if session in self.sessions:
            self.sessions.remove(session)

    def clean(self) -> None:
        for session in list(self.sessions):
            self.close_session(session)
        remove_created(self.containers_before, self.names)
