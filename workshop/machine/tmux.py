"""A private tmux server with one window of a fixed size: the real terminal in which the TUI
rehearsal and the end-to-end tests give the deck. It runs on its own socket (-L), never the
user's, and `kill` stops that server alone."""

import os
import time
from dataclasses import dataclass
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.machine import host


@dataclass
class Pane:
    dead: bool
    status: str  # the exit status once dead ('' while running, or when tmux missed it)
    signal: str
    pid: int
    size: tuple
    cursor: tuple  # (x, y), 0-based
    cursor_shown: bool


class Tmux:
    def __init__(self, socket: str, cols: int = 120, rows: int = 40, session: str = "deck"):
        self.socket, self.cols, self.rows, self.session = socket, cols, rows, session

    def start(self, command: str, config_dir: Path, env: dict | None = None) -> None:
        """Run command (a shell line) in a new detached window; the pane stays after it ends."""
        if host.which("tmux") is None:
            raise WorkshopError(
                f"tmux is missing (the real terminal the deck is given in): run "
                f"`{host.install_hint('tmux')}`, then run this again."
            )
        config_dir.mkdir(parents=True, exist_ok=True)
        config = config_dir / "tmux.conf"
        config.write_text(
            f"set -g remain-on-exit on\nset -g default-size {self.cols}x{self.rows}\n"
            f"set -g status off\nset -g history-limit 0\n"
        )
        self.tmux(
            "-f",
            str(config),
            "new-session",
            "-d",
            "-x",
            str(self.cols),
            "-y",
            str(self.rows),
            "-s",
            self.session,
            command,
            env=env,
        )

    def tmux(self, *args: str, env: dict | None = None) -> str:
        done = host.run(
            ["tmux", "-L", self.socket, *args], timeout=20, check=False, env={**(env or os.environ), "TMUX": ""}
        )
        if done.returncode != 0:
            raise WorkshopError(f"tmux {' '.join(args[:3])}: {done.stderr.strip() or 'failed'}")
        return done.stdout

    def keys(self, *keys: str, pause: float = 0.15) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)
            time.sleep(pause)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise WorkshopError(f"{text!r} did not appear within {timeout:g} s; the screen:\n{screen}")
            time.sleep(0.1)

    def pane(self) -> Pane:
        fields = (
            self.tmux(
                "display-message",
                "-p",
                "-t",
                self.session,
                "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}|#{pane_pid}|#{pane_width}|"
                "#{pane_height}|#{cursor_x}|#{cursor_y}|#{cursor_flag}",
            )
            .strip()
            .split("|")
        )
        dead, status, signal, pid, width, height, x, y, shown = fields
        return Pane(dead == "1", status, signal, int(pid), (int(width), int(height)), (int(x), int(y)), shown == "1")

    def server_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "#{pid}"))

    def kill(self) -> None:
        """Stop this server (only it: its own socket) and remove the socket file."""
        try:
            path = self.tmux("display-message", "-p", "#{socket_path}").strip()
        except WorkshopError:
            path = ""
        host.run(["tmux", "-L", self.socket, "kill-server"], timeout=20, check=False)
        if path:
            try:
                os.unlink(path)
            except OSError:
                pass
