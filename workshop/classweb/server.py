"""The class's web server (aiohttp): the teacher's page with every student's link and the live board,
and each student's page, the lecture beside a live terminal in their namespace.

    /t/SECRET             the teacher's page: a printable card per student, and the board
    /t/SECRET/board.json  the board's rows (what `scripts/class status` shows) and each terminal's state
    /s/SECRET             a student's page: the exported lecture, the terminal, the step checks
    /s/SECRET/state.json  the student's terminal state and step checks
    /s/SECRET/tty         the terminal (WebSocket)
    /lecture/...          the lecture as `scripts/export-html` writes it (no notes, no directives)
    /assets/...           the pages' scripts and styles, xterm.js among them

A link with any other secret opens nothing and says so in one line."""

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from aiohttp import WSCloseCode, WSMsgType, web

from workshop.classweb import board, checks, terminal
from workshop.classweb.links import Links, Student
from workshop.cli import WorkshopError
from workshop.cluster import class_fence, class_terminal
from workshop.deck import reader

STATIC = Path(__file__).parent / "static"
NOT_YOURS = "This link opens nothing: ask your teacher for your own link."
BOARD_EVERY = 3.0
READY_WAIT = 120.0  # seconds a terminal may take to start before the page says why it has not
STATE_FRESH = 2.5  # seconds a terminal's state serves the page's polls before the cluster is asked again
TERMINALS_PER_LINK = 3  # open terminals at once for one link (tabs): more is a mistake or a script
# why a terminal is not ready that waiting will not mend: the page says so at once
FINAL = ("is gone", "was refused", "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff",
         "CreateContainerConfigError", "CreateContainerError")  # fmt: skip


def hopeless(why: str) -> bool:
    return any(reason in why for reason in FINAL)


@dataclass
class Class:
    links: Links
    admin: Path
    site: Path  # the exported lecture
    assets: Path  # xterm.js and the pages' own files
    address: str  # what the printed links name, host:port
    image: str = ""  # the terminal image, fixed when serve starts (class_terminal.image)
    endpoints: list[tuple[str, int]] = field(default_factory=list)
    progress: dict[str, checks.Progress] = field(default_factory=dict)
    terminals: dict[str, tuple[bool, str]] = field(default_factory=dict)  # namespace: (ready, why not)
    asked: dict[str, float] = field(default_factory=dict)  # namespace: when the cluster was last asked
    sockets: dict[str, set] = field(default_factory=dict)  # namespace: the student's open terminals
    board: dict = field(default_factory=dict)
    board_at: float = 0.0
    board_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=8))
    running: set[asyncio.Task] = field(default_factory=set)  # the check runs under way (held till they end)

    def link(self, student: Student) -> str:
        return f"http://{self.address}/s/{student.secret}"

    def teacher_link(self) -> str:
        return f"http://{self.address}/t/{self.links.teacher}"

    async def blocking(self, call: Callable, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, call, *args)

    async def open_terminal(self, student: Student) -> tuple[bool, str]:
        """Make the student's terminal pod where it is missing or stale; its state."""
        try:
            await self.blocking(
                class_terminal.ensure, self.admin, student.namespace, class_fence.ACCOUNT, class_fence.LABEL,
                self.endpoints, self.image,
            )  # fmt: skip
        except WorkshopError as error:
            found = await self.terminal_state(student)
            self.terminals[student.namespace] = found if "is gone" in found[1] else (False, str(error))
            return self.terminals[student.namespace]
        return await self.terminal_state(student)

    async def terminal_state(self, student: Student, fresh_for: float = 0.0) -> tuple[bool, str]:
        """The terminal's state: asked of the cluster, unless it was asked less than fresh_for seconds ago.
        A cluster that does not answer in time is a state too, never an exception."""
        known = self.terminals.get(student.namespace)
        if known and time.monotonic() - self.asked.get(student.namespace, 0.0) < fresh_for:
            return known
        try:
            found = await self.blocking(class_terminal.state, self.admin, student.namespace)
        except WorkshopError as error:
            found = (False, f"the cluster does not answer: {str(error)[:160]}")
        self.asked[student.namespace] = time.monotonic()
        before = self.terminals.get(student.namespace)
        if found[1] == class_terminal.NONE_YET and before and "was refused" in before[1]:
            found = before  # the pod is missing because it was refused: that is the news
        self.terminals[student.namespace] = found
        return found


CLASS = web.AppKey("class", Class)


def _page(name: str, **values: str) -> str:
    text = (STATIC / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _not_yours() -> web.HTTPNotFound:
    return web.HTTPNotFound(text=NOT_YOURS + "\n", content_type="text/plain")


def _student(request: web.Request) -> Student:
    found = request.app[CLASS].links.student(request.match_info["secret"])
    if found is None:
        raise _not_yours()
    return found


def _teacher(request: web.Request) -> None:
    if not request.app[CLASS].links.is_teacher(request.match_info["secret"]):
        raise _not_yours()


async def student_page(request: web.Request) -> web.Response:
    student = _student(request)
    return web.Response(
        text=_page("student.html", namespace=escape(student.namespace)),
        content_type="text/html",
    )


async def student_state(request: web.Request) -> web.Response:
    student = _student(request)
    klass: Class = request.app[CLASS]
    ready, why = await klass.terminal_state(student, fresh_for=STATE_FRESH)
    progress = klass.progress[student.namespace]
    if ready:
        task = asyncio.ensure_future(progress.refresh())
        klass.running.add(task)
        task.add_done_callback(klass.running.discard)
    return web.json_response(
        {"namespace": student.namespace, "terminal": {"ready": ready, "why": why}, "checks": progress.report()}
    )


async def student_tty(request: web.Request) -> web.StreamResponse:
    student = _student(request)
    klass: Class = request.app[CLASS]
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    mine = klass.sockets.setdefault(student.namespace, set())
    if len(mine) >= TERMINALS_PER_LINK:
        await ws.send_str(json.dumps({"error": f"{len(mine)} terminals are open on this link: close another tab"}))
        await ws.close()
        return ws
    mine.add(ws)
    try:
        await _terminal(ws, request, klass, student)
    except ConnectionResetError:  # the page went away while its terminal was starting
        pass
    finally:
        mine.discard(ws)
        if not ws.closed:
            await ws.close()
    return ws


async def _terminal(ws: web.WebSocketResponse, request: web.Request, klass: "Class", student: Student) -> None:
    rows, cols = terminal.size(request.query.get("cols", "80"), request.query.get("rows", "24"))
    # the page's own polling keeps the state fresh: a ready terminal opens without asking the cluster again
    ready, why = await klass.terminal_state(student, fresh_for=STATE_FRESH)
    if not ready:
        await ws.send_str(json.dumps({"status": f"starting your terminal ({why})"}))
        ready, why = await klass.open_terminal(student)
        deadline = time.monotonic() + READY_WAIT
        while not ready and not hopeless(why) and time.monotonic() < deadline:
            await ws.send_str(json.dumps({"status": f"starting your terminal ({why})"}))
            try:  # a wait that also notices a page that has gone
                message = await ws.receive(timeout=0.5)
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    return
            except asyncio.TimeoutError:
                pass
            ready, why = await klass.terminal_state(student)
    if not ready:
        await ws.send_str(json.dumps({"error": f"your terminal cannot start: {why}"}))
        return
    await ws.send_str(json.dumps({"status": "connected"}))
    if await terminal.bridge(ws, student.kubeconfig, student.namespace, rows, cols) != 0:
        klass.terminals.pop(student.namespace, None)  # the next connection asks the cluster how the pod is


async def close_terminals(app: web.Application) -> None:
    """On shutdown (Ctrl-C): every open terminal is told and closed at once, so serve stops in a moment; the
    shells stay in their pods."""
    for sockets in app[CLASS].sockets.values():
        for ws in list(sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"the class server stopped")


async def teacher_page(request: web.Request) -> web.Response:
    _teacher(request)
    klass: Class = request.app[CLASS]
    cards = "\n".join(
        f'<article class="card"><h2>{escape(s.namespace)}</h2><p>Open this link in a browser:</p>'
        f'<p class="link"><a href="{escape(klass.link(s))}">{escape(klass.link(s))}</a></p>'
        f'<p class="small">It opens your lecture and your terminal; it is yours alone.</p></article>'
        for s in klass.links.students
    )
    return web.Response(text=_page("teacher.html", cards=cards), content_type="text/html")


async def board_json(request: web.Request) -> web.Response:
    _teacher(request)
    klass: Class = request.app[CLASS]
    async with klass.board_lock:
        if time.monotonic() - klass.board_at >= BOARD_EVERY:
            students = klass.links.students
            rows = await asyncio.gather(*(klass.blocking(board.safe_row, s.namespace, klass.admin) for s in students))
            states = await asyncio.gather(*(klass.terminal_state(s, fresh_for=STATE_FRESH) for s in students))
            stages = [stage for _, stage in rows]
            klass.board = {
                "head": board.HEAD + ["TERMINAL"],
                "rows": [
                    row + ["ready" if ready else why or "?"]
                    for (row, _), (ready, why) in zip(rows, states, strict=True)
                ],
                "summary": board.summary(stages),
                "checks": {s.namespace: sum(c["done"] for c in klass.progress[s.namespace].report()) for s in students},
            }
            klass.board_at = time.monotonic()
    return web.json_response(klass.board)


async def root(_: web.Request) -> web.Response:
    raise _not_yours()


def make_app(klass: Class) -> web.Application:
    app = web.Application()
    app[CLASS] = klass
    app.on_shutdown.append(close_terminals)
    app.router.add_get("/", root)
    app.router.add_get("/t/{secret}", teacher_page)
    app.router.add_get("/t/{secret}/board.json", board_json)
    app.router.add_get("/s/{secret}", student_page)
    app.router.add_get("/s/{secret}/state.json", student_state)
    app.router.add_get("/s/{secret}/tty", student_tty)
    app.router.add_static("/lecture/", klass.site)
    app.router.add_static("/assets/", klass.assets)
    return app


def make_class(
    links: Links, admin: Path, site: Path, assets: Path, address: str, image: str, deck: reader.Deck
) -> Class:
    steps = checks.lecture_steps(deck)
    klass = Class(links, admin, site, assets, address, image, endpoints=class_terminal.api_endpoints(admin))
    at_once = asyncio.Semaphore(checks.AT_ONCE)  # one for the class
    for student in links.students:
        klass.progress[student.namespace] = checks.Progress(
            student.namespace, student.kubeconfig, steps, at_once=at_once
        )
    return klass


async def open_all(klass: Class, wait: float = READY_WAIT) -> list[tuple[Student, tuple[bool, str]]]:
    """Start every student's terminal ahead of the links being opened, and wait until each is ready or cannot
    be (then the first prompt is quick, and the teacher hears of a terminal that will not start)."""
    found = await asyncio.gather(*(klass.open_terminal(s) for s in klass.links.students))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(not ready and not hopeless(why) for ready, why in found):
        await asyncio.sleep(1)
        found = await asyncio.gather(*(klass.terminal_state(s) for s in klass.links.students))
    return list(zip(klass.links.students, found, strict=True))
