"""scripts/local-cluster up|down|status|build: the local node provider from the command line."""
import json
import time
from typing import Sequence

from workshop.cli import WorkshopError, run
from workshop.cluster.local_node import binaries, provider

USAGE = "usage: local-cluster up|down|status|build [--json]"


def main(argv: Sequence[str]) -> int:
    args = [a for a in argv if a != "--json"]
    as_json = "--json" in argv
    if len(args) != 1 or args[0] not in ("up", "down", "status", "build"):
        raise WorkshopError(USAGE)
    say = (lambda _line: None) if as_json else (lambda line: print(line, flush=True))
    if args[0] == "build":
        started = time.monotonic()
        target = binaries.ensure_binaries(say=say)
        print(f"programs ready in {target} ({time.monotonic() - started:.1f} s)")
        return 0
    result = {"up": provider.up, "down": provider.down, "status": provider.status}[args[0]](say=say)
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    run(main, "local-cluster")
