"""scripts/class serve: make what the class's pages need, start every student's terminal, and serve
the class at ADDR:PORT until Ctrl-C."""

import asyncio
import json
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from workshop.classweb import links, server
from workshop.cli import WorkshopError
from workshop.cluster import class_door, class_terminal, classroom
from workshop.deck import reader
from workshop.export import blocks, player, site
from workshop.machine import app_images, host
from workshop.paths import ROOT

PORT = classroom.SERVE_PORT


def folder() -> Path:
    return classroom.class_dir() / classroom.SERVE_DIR


def lecture(deck: reader.Deck, say: Callable[[str], None]) -> Path:
    """The lecture as the export writes it, and which boxes are Docker ones (the page says so of them)."""
    out = folder() / "lecture"
    summary = site.export(out, deck.path, note=say)
    needs = {blocks.ident(box): list(box.directives.needs) for box in deck.boxes()}
    (out / "boxes.json").write_text(json.dumps(needs), encoding="utf-8")
    say(f"the lecture: {summary.slides} slides, {summary.boxes} boxes")
    return out


def assets(say: Callable[[str], None]) -> Path:
    out = folder() / "assets"
    out.mkdir(parents=True, exist_ok=True)
    player.copy_xterm(out, note=say)
    for path in server.STATIC.iterdir():
        if path.suffix in (".js", ".css"):
            shutil.copyfile(path, out / path.name)
    return out


def terminal_image(roster: dict, say: Callable[[str], None]) -> str:
    """The terminal image in the registry the nodes pull from: built by `scripts/prepare class-terminal`
    when this recipe's tag is not there yet. Its name, fixed for this serve."""
    image = class_terminal.image()
    if not app_images.in_registry(image):
        say(f"building the class terminal image ({image}): scripts/prepare class-terminal")
        done = host.run(
            [str(ROOT / "scripts" / "prepare"), "class-terminal"],
            timeout=1800,
            what="scripts/prepare class-terminal",
            fix="run it alone to see the whole story, fix that, then serve again",
        )
        say(done.stdout.strip().splitlines()[-1])
    if roster.get("registry"):
        classroom.push_to(roster["registry"], say, images=[image])
    return image


def serve(address: str | None, port: int, say: Callable[[str], None] = print) -> None:
    if not 1 <= port <= 65535:
        raise WorkshopError(f"--port {port}: give a TCP port between 1 and 65535 (default {PORT})")
    found = links.load()
    roster = json.loads(classroom.roster_file().read_text())
    chosen = class_door.check_address(address) if address else class_door.default_address()
    image = terminal_image(roster, say)
    deck = reader.read()
    admin = classroom.admin_config(roster.get("context"))
    klass = server.make_class(found, admin, lecture(deck, say), assets(say), f"{chosen}:{port}", image, deck)
    asyncio.run(_run(klass, chosen, port, say))


async def _run(klass: server.Class, address: str, port: int, say: Callable[[str], None]) -> None:
    runner = web.AppRunner(server.make_app(klass), handle_signals=False, access_log=None, shutdown_timeout=5)
    await runner.setup()
    try:
        await web.TCPSite(runner, address, port).start()
    except OSError as error:
        await runner.cleanup()
        raise WorkshopError(
            f"cannot listen on {address}:{port} ({error.strerror}): is it this machine's address, and is the "
            f"port free? (--address ADDR, --port PORT)"
        ) from None
    say(f"starting {len(klass.links.students)} terminal(s)...")
    try:
        opened = await server.open_all(klass)
    except BaseException:
        await runner.cleanup()
        raise
    for student, (ready, why) in opened:
        say(f"{student.namespace}: terminal {'ready' if ready else 'not ready: ' + why}")
    say(f"the class is served at http://{address}:{port}/ (Ctrl-C stops; the links stay good for the next serve)")
    say(f"the teacher's page (cards to print, the board): {klass.teacher_link()}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C while stopping stops at once
            loop.remove_signal_handler(signum)
    finally:
        await runner.cleanup()
        klass.pool.shutdown(wait=False, cancel_futures=True)
    say("stopped serving; the terminals keep running in the cluster (scripts/class down removes them with the class)")
