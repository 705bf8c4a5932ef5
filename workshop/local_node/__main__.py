"""scripts/local-cluster up|down|status|build: the local node provider from the command line."""
import json
from typing import Sequence

from ..cli import WorkshopError, run

USAGE = "usage: local-cluster up|down|status|build [--json]"


def main(argv: Sequence[str]) -> int:
    args = [a for a in argv if a != "--json"]
    as_json = "--json" in argv
    if len(args) != 1 or args[0] not in ("up", "down", "status", "build"):
        raise WorkshopError(USAGE)
    from . import binaries, cluster
    say = (lambda _line: None) if as_json else (lambda line: print(line, flush=True))
    if args[0] == "build":
        return binaries.main([])
    result = {"up": cluster.up, "down": cluster.down, "status": cluster.status}[args[0]](say=say)
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    try:
        run(main, "local-cluster")
    except BrokenPipeError:  # `local-cluster status | head`
        pass
