"""Stop what a rehearsal started, and only that: its shells, every process left in their
terminal sessions, and the containers its commands named (`--name workshop-...`) that were
created while it ran. A container someone else starts meanwhile is never touched."""

from collections.abc import Iterable

from workshop.machine import engine, processes


def container_ids(timeout: float = 60) -> set[str] | None:
    out = engine.output("ps", "-aq", "--no-trunc", timeout=timeout)
    return None if out is None else set(out.split())


def named_containers(ids: set[str], names: set[str]) -> list[str]:
    """Of these containers, the ones whose name is in names."""
    if not ids or not names:
        return []
    out = engine.output("inspect", "--format", "{{.Name}} {{.Id}}", *sorted(ids))
    pairs = (line.split() for line in (out or "").splitlines())
    return [container for name, container in pairs if name.lstrip("/") in names]


def remove_created(before: set[str] | None, names: set[str]) -> None:
    """Remove the containers created since `before` (a container_ids() snapshot) whose name is in names."""
    if before is None or not names:
        return
    leftovers = named_containers((container_ids() or set()) - before, names)
    if leftovers:
        engine.output("rm", "-f", *leftovers)


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
