"""A second laptop for the class tests: a network namespace of its own, joined to this machine by one
veth pair with two private addresses on that pair only. Nothing in it has a default route, so what it
reaches is this machine's end of the pair and nothing else; the pair and the namespace are removed
when the test is done (deleting one end of a veth pair deletes both)."""

import os
import subprocess
from collections.abc import Sequence

# a /30 of the private range that neither Docker (172.17-31.x), kind's pods (10.244.x) nor its
# Services (10.96-111.x) use
HOST_ADDRESS = "10.199.198.1"
LAPTOP_ADDRESS = "10.199.198.2"


class SecondLaptop:
    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}"
        self.namespace = f"ws-laptop-{tag}"
        self.host_end = f"wsh{tag}"
        self.laptop_end = f"wsl{tag}"

    def _ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)

    def __enter__(self) -> "SecondLaptop":
        holders = subprocess.run(
            ["ip", "-o", "addr", "show", "to", f"{HOST_ADDRESS}/32"], capture_output=True, text=True, timeout=30
        ).stdout.split()
        if holders:  # two pairs on one /30: the replies would leave by the other one, and time out
            raise RuntimeError(
                f"{holders[1]} already holds {HOST_ADDRESS} (a second laptop a killed test run left?): "
                f"if it is one, remove it (ip link del {holders[1]}, and its ws-laptop-* namespace), then run again"
            )
        self._ip("netns", "add", self.namespace)
        try:
            self._ip("link", "add", self.host_end, "type", "veth", "peer", "name", self.laptop_end)
            self._ip("link", "set", self.laptop_end, "netns", self.namespace)
            self._ip("addr", "add", f"{HOST_ADDRESS}/30", "dev", self.host_end)
            self._ip("link", "set", self.host_end, "up")
            inside = ("netns", "exec", self.namespace, "ip")
            self._ip(*inside, "addr", "add", f"{LAPTOP_ADDRESS}/30", "dev", self.laptop_end)
            self._ip(*inside, "link", "set", self.laptop_end, "up")
            self._ip(*inside, "link", "set", "lo", "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        subprocess.run(["ip", "link", "del", self.host_end], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=30)

    def argv(self, argv: Sequence[str]) -> list[str]:
        """argv, run on the second laptop."""
        return ["ip", "netns", "exec", self.namespace, *map(str, argv)]

    def run(
        self, argv: Sequence[str], timeout: float = 60, env: dict | None = None, cwd=None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(argv), capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, stdin=subprocess.DEVNULL
        )

    def connects(self, address: str, port: int) -> bool:
        """Does a TCP connection from the laptop to address:port get an answer within 3 s?"""
        probe = f"import socket; socket.create_connection(({address!r}, {port}), timeout=3).close()"
        return self.run(["python3", "-c", probe], timeout=20).returncode == 0

    def leftovers(self) -> list[str]:
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        return [n for n in (self.namespace, self.host_end) if n in names or f" {n}@" in links or f" {n}:" in links]
