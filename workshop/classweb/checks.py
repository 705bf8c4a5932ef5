"""A student's step checks for their page: the lecture's Kubernetes steps that a student's namespace can
show (scripts/check's own checks, not a copy), run as `scripts/check` with the student's kubeconfig in a
workshop state of the student's own (.workshop/class/serve/NAMESPACE), so nothing of the teacher's is
read. A step once passed stays shown as done: the page tells how far the student got."""

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from workshop.cluster import classroom
from workshop.deck import reader
from workshop.paths import ROOT
from workshop.rehearsal import step_table

EVERY = 5.0  # seconds between two runs for one student, at most
AT_ONCE = 2  # check runs at once for the whole class (a semaphore serve shares): the teacher's laptop stays usable


def lecture_steps(deck: reader.Deck | None = None) -> list[tuple[str, int]]:
    """(step, slide) of each step whose box is a Kubernetes one a student's namespace can do, in deck order."""
    deck = deck or reader.read()
    found = []
    for step in step_table.STEPS:
        done = deck.step_boxes(step, "done")
        if done and "cluster" in done[0].directives.needs and "nodes" not in done[0].directives.needs:
            found.append((step, done[0].slide))
    return found


@dataclass
class Progress:
    namespace: str
    kubeconfig: Path
    steps: list[tuple[str, int]]
    passed: dict[str, str] = field(default_factory=dict)  # step: what the check found
    last: dict[str, str] = field(default_factory=dict)  # step: the latest FAIL line
    ran_at: float = 0.0
    running: asyncio.Lock = field(default_factory=asyncio.Lock)
    at_once: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(AT_ONCE))

    def folder(self) -> Path:
        return classroom.class_dir() / classroom.SERVE_DIR / self.namespace

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "WORKSHOP_STATE": str(self.folder()), "PYTHONPATH": str(ROOT)}
        env.pop("KUBECONFIG", None)
        return env

    async def _run(self, *argv: str, timeout: float = 60) -> tuple[int, str]:
        async with self.at_once:
            return await self._spawn(*argv, timeout=timeout)

    async def _spawn(self, *argv: str, timeout: float) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *argv,
            env=self._env(),
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), timeout)
        except asyncio.TimeoutError:
            process.kill()
            return 1, "timed out"
        return process.returncode or 0, out.decode(errors="replace")

    async def refresh(self) -> None:
        """Run the checks not passed yet, unless they ran a moment ago or are running."""
        if self.running.locked() or time.monotonic() - self.ran_at < EVERY:
            return
        async with self.running:
            pending = [step for step, _ in self.steps if step not in self.passed]
            if not pending:
                return
            copy = self.folder() / "kubeconfig"
            if copy.is_file() and self.kubeconfig.is_file() and self.kubeconfig.stat().st_mtime > copy.stat().st_mtime:
                # scripts/class up ran again (new tokens, a namespace made anew): start from the new kubeconfig
                copy.unlink()
                self.passed.clear()
                pending = [step for step, _ in self.steps]
            if not copy.is_file():
                self.folder().mkdir(parents=True, exist_ok=True)
                code, out = await self._run(
                    "workshop.commands.cluster", "up", "--kubeconfig", str(self.kubeconfig), timeout=90
                )
                if code != 0:
                    self.last = {step: out.strip().splitlines()[-1][:200] if out.strip() else "?" for step in pending}
                    self.ran_at = time.monotonic()
                    return
            _, out = await self._run("workshop.commands.check", *pending)
            for line in out.splitlines():
                verdict, _, rest = line.partition(" ")
                step, _, found = rest.partition(": ")
                if verdict == "PASS" and step in pending:
                    self.passed[step] = found
                    self.last.pop(step, None)
                elif verdict == "FAIL" and step in pending:
                    self.last[step] = found
            self.ran_at = time.monotonic()

    def report(self) -> list[dict]:
        return [
            {
                "step": step,
                "slide": slide,
                "what": step_table.STEPS[step].what,
                "done": step in self.passed,
                "found": self.passed.get(step) or self.last.get(step, ""),
            }
            for step, slide in self.steps
        ]
