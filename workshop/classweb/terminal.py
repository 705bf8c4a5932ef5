"""A student's shell for the browser: `kubectl exec -it` into the student's terminal pod, with the
student's own kubeconfig, on a pseudo-terminal of this machine; its bytes go to and from a WebSocket.
In the pod the shell runs in tmux (`new-session -A`), so a reload, a dropped connection or a restart of
the server attaches to the same shell, with whatever runs in it still running.

The WebSocket carries keystrokes and output as binary frames; text frames are JSON: from the page
{"resize": [cols, rows]}, to the page {"status": "..."} or {"error": "..."}."""

import asyncio
import contextlib
import json
import os
from pathlib import Path

from aiohttp import WSMsgType, web
from ptyprocess import PtyProcess

from workshop.cluster import class_terminal, kubectl

SESSION = "class"
MAX_COLS, MAX_ROWS = 400, 200


def argv(kubeconfig: Path, namespace: str) -> list[str]:
    return [
        kubectl.program(),
        "--kubeconfig",
        str(kubeconfig),
        "exec",
        "-i",
        "-t",
        "-n",
        namespace,
        class_terminal.POD,
        "-c",
        "shell",
        "--",
        "tmux",
        "new-session",
        "-A",
        "-s",
        SESSION,
    ]


def size(cols: object, rows: object) -> tuple[int, int]:
    """A terminal size the page asked for, kept within sane bounds (rows, cols)."""
    try:
        c, r = int(str(cols)), int(str(rows))
    except ValueError:
        return 24, 80
    return max(2, min(r, MAX_ROWS)), max(10, min(c, MAX_COLS))


HIGH, LOW = 64, 8  # output chunks queued for the page: stop reading the pty above HIGH, read again below LOW


async def bridge(ws: web.WebSocketResponse, kubeconfig: Path, namespace: str, rows: int, cols: int) -> int:
    """Relay between the page and a `kubectl exec` on a local pty until either side ends; kubectl's exit code
    when it ended first (0 when the page left first). A page that reads slowly slows the shell's output (the
    pty is not read while HIGH chunks wait), never the server's memory. Starting and stopping kubectl, which
    wait, happen off the event loop, so one student's terminal never stalls another's."""
    env = {**os.environ, "TERM": "xterm-256color", "KUBECONFIG": str(kubeconfig)}
    loop = asyncio.get_running_loop()
    process = await loop.run_in_executor(
        None, lambda: PtyProcess.spawn(argv(kubeconfig, namespace), env=env, dimensions=(rows, cols))
    )
    output: asyncio.Queue[bytes | None] = asyncio.Queue()
    reading = True

    def readable() -> None:
        nonlocal reading
        try:
            data = os.read(process.fd, 65536)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(process.fd)
            reading = False
            output.put_nowait(None)
            return
        output.put_nowait(data)
        if output.qsize() >= HIGH:
            loop.remove_reader(process.fd)
            reading = False

    loop.add_reader(process.fd, readable)

    async def to_page() -> None:
        nonlocal reading
        while (data := await output.get()) is not None:
            await ws.send_bytes(data)
            if not reading and output.qsize() <= LOW and process.isalive():
                loop.add_reader(process.fd, readable)
                reading = True

    async def from_page() -> None:
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                await loop.run_in_executor(None, os.write, process.fd, message.data)
            elif message.type == WSMsgType.TEXT:
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    asked = json.loads(message.data)
                    if "resize" in asked:
                        process.setwinsize(*size(*asked["resize"]))
                    elif "input" in asked:
                        await loop.run_in_executor(None, os.write, process.fd, str(asked["input"]).encode())

    sending, receiving = asyncio.ensure_future(to_page()), asyncio.ensure_future(from_page())
    code = 0
    try:
        done, _ = await asyncio.wait({sending, receiving}, return_when=asyncio.FIRST_COMPLETED)
        if sending in done and sending.exception() is None and not ws.closed:
            code = await loop.run_in_executor(None, process.wait) or 0
            why = "the shell ended: reload the page for a new one" if code == 0 else f"kubectl exec ended ({code})"
            await ws.send_str(json.dumps({"status": why}))
    finally:
        for task in (sending, receiving):
            task.cancel()
        with contextlib.suppress(OSError, ValueError):
            loop.remove_reader(process.fd)
        await loop.run_in_executor(None, _end, process)  # the shell stays in tmux in the pod
    return code


def _end(process: PtyProcess) -> None:
    """kubectl goes, and its pty with it (both wait a little: never on the event loop)."""
    with contextlib.suppress(OSError):
        if process.isalive():
            process.terminate(force=True)
        process.close()
