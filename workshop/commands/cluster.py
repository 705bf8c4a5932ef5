"""scripts/cluster up|down|status: one workshop cluster (see workshop/cluster/providers.py)."""
import argparse
from typing import Sequence

from workshop.cli import run
from workshop.cluster import providers


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster", description=providers.__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--provider", choices=("kind", "local-node"), help="default: kind if installed, "
                        "else local-node on Linux as root")
    parser.add_argument("--context", help="use this existing context of yours instead of making a cluster")
    args = parser.parse_args(argv)
    if args.action == "up":
        print(providers.up(args.provider, args.context))
    elif args.action == "down":
        print(providers.down())
    else:
        return providers.status()
    return 0


if __name__ == "__main__":
    run(main, "cluster")
