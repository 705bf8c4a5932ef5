"""The one port probe: is a TCP port free for the deck (or a daemon) to listen on, and if not,
who holds it and how to free it."""

import socket

import psutil


def busy(port: int, host: str = "127.0.0.1") -> bool:
    """Does something answer on host:port, or keep us from listening on it on every address?"""
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket() as trial:
        trial.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            trial.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def listener(port: int) -> tuple[int, str] | None:
    """(pid, program) of the process listening on port, where the system lets us see it."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError, OSError):
        return None
    for connection in connections:
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr
            and connection.laddr.port == port
            and connection.pid
        ):
            try:
                return connection.pid, psutil.Process(connection.pid).name()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return connection.pid, "?"
    return None


def finder(port: int) -> str:
    """A command that shows what listens on port."""
    return f"lsof -nP -iTCP:{port} -sTCP:LISTEN"
