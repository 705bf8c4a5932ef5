"""The node's components as processes: started, found again and stopped through the one
supervisor (workshop.machine.processes), by the pid files they leave in run/."""
import time
from typing import Callable, Dict, List, Optional

from workshop.cli import WorkshopError
from workshop.cluster.local_node.layout import Layout
from workshop.machine import processes


def start(layout: Layout, name: str, argv: List[str], env: Optional[Dict[str, str]] = None) -> int:
    """Start one component, output appended to logs/<name>.log, recorded in run/<name>.pid."""
    return processes.start(argv, layout.log_file(name), layout.pid_file(name), cwd=layout.node, env=env, what=name)


def pid_of(layout: Layout, name: str) -> Optional[int]:
    """The pid of a component we started that still runs."""
    return processes.recorded(layout.pid_file(name))


def stop(layout: Layout, name: str, timeout: float = 15.0) -> bool:
    """Stop a component we started; True if one was running. The pid file goes either way."""
    return processes.stop_recorded(layout.pid_file(name), timeout)


def wait_until(layout: Layout, name: str, ready: Callable[[], bool], timeout: float) -> float:
    """Poll `ready` until it answers True; fail in one line if the process dies or time runs out."""
    started = time.monotonic()
    log = layout.log_file(name)
    while time.monotonic() - started < timeout:
        if pid_of(layout, name) is None:
            raise WorkshopError(f"{name} exited during start-up: see {log}")
        try:
            if ready():
                return time.monotonic() - started
        except Exception:  # noqa: BLE001 - any failure of a probe just means "not yet"
            pass
        time.sleep(0.25)
    raise WorkshopError(f"{name} did not become ready within {int(timeout)} s: see {log}")
