"""Stop what a rehearsal started, and only that: its shells, every process left in their
terminal sessions, and the containers created meanwhile that carry the workshop's name or label."""
import json
import os
import shutil
import signal
import subprocess
from typing import List, Optional, Set

WORKSHOP_LABEL = "edu.cs198.workshop"
NAME_PREFIX = "workshop-"


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


def _docker(*args: str) -> Optional[str]:
    if shutil.which("docker") is None:
        return None
    try:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout if done.returncode == 0 else None


def container_ids() -> Optional[Set[str]]:
    out = _docker("ps", "-aq", "--no-trunc")
    return None if out is None else set(out.split())


def workshop_containers(ids: Set[str]) -> List[str]:
    """Of these containers, the ones named workshop-* or labelled as the workshop's."""
    if not ids:
        return []
    out = _docker("inspect", "--format", "{{json .Name}} {{json .Config.Labels}} {{.Id}}", *sorted(ids))
    ours = []
    for line in (out or "").splitlines():
        name, rest = line.split(" ", 1)
        labels, container = rest.rsplit(" ", 1)
        if json.loads(name).lstrip("/").startswith(NAME_PREFIX) or WORKSHOP_LABEL in (json.loads(labels) or {}):
            ours.append(container)
    return ours


class Tracker:
    """Remembers what existed before, and what was started since."""

    def __init__(self):
        self.sessions = []
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
        if self.containers_before is None:
            return
        created = (container_ids() or set()) - self.containers_before
        leftovers = workshop_containers(created)
        if leftovers:
            _docker("rm", "-f", *leftovers)
