"""What provision/ installed and started on this machine, as the lecture's runtime sees it: where it
lives, the engine it started (to use, and for reset --all to stop) and the programs of its Docker
stack (kind, containerd). Nothing here installs or builds anything: scripts/prepare does
(provision/engine_install.py)."""

import json
import os
from pathlib import Path

from workshop import versions
from workshop.cli import Note, quiet
from workshop.machine import processes

STOP_SECONDS = 30


def machine_home() -> Path:
    """WORKSHOP_MACHINE_HOME, or /var/lib/cs198-workshop: the engines the workshop installs live there."""
    return Path(os.environ.get("WORKSHOP_MACHINE_HOME") or "/var/lib/cs198-workshop")


def record_file() -> Path:
    """The engine the workshop started: its kind, pid, log, client and state folder."""
    return machine_home() / "engine.json"


def env_file() -> Path:
    """Which docker client the workshop's commands and shells use (scripts/lib/engine-env.sh reads it)."""
    return machine_home() / "engine.env"


def pid_file() -> Path:
    return machine_home() / "dockerd.pid"


def stack_prefix(home: Path | None = None) -> Path:
    """Where the current Docker stack (dockerd, containerd, kind) is unpacked."""
    return (home or machine_home()) / f"docker-{versions.docker_engine_version()}"


def stack_program(name: str) -> Path | None:
    """A program of the installed Docker stack (kind, containerd), or None when it is not there."""
    found = stack_prefix() / "usr/bin" / name
    return found if os.access(found, os.X_OK) else None


def recorded() -> dict | None:
    """What the workshop started and still runs: {kind, pid, ...}; None when nothing of ours runs."""
    try:
        record = json.loads(record_file().read_text())
    except (OSError, ValueError):
        return None
    live = processes.recorded(pid_file())
    if live is None:
        return None
    # pid None: the intent written before the start; the pid file, written with the start itself,
    # names the process (an interrupt between the two cannot leave it unknown)
    return {**record, "pid": live} if record.get("pid") in (None, live) else None


def apply_env() -> None:
    """Put engine.env in force in this process (and so in every program it starts)."""
    try:
        lines = env_file().read_text().splitlines()
    except OSError:
        return
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    bin_dir = values.pop("WORKSHOP_DOCKER_BIN", "")
    os.environ.update(values)
    if bin_dir and bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def stop(note: Note = quiet) -> str | None:
    """Stop the engine the workshop started, if one runs; returns its kind."""
    record = recorded()
    if record is None:
        return None
    note(f"stopping the {record['kind']} engine the workshop started (pid {record['pid']})")
    processes.stop_recorded(pid_file(), timeout=STOP_SECONDS)
    record_file().unlink(missing_ok=True)
    env_file().unlink(missing_ok=True)
    return record["kind"]
