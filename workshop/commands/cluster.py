"""scripts/cluster up|down|status: one workshop cluster (see workshop/cluster/providers.py).
`scripts/cluster build` is the basement's (provision/node_image.py): the kind node image made where
kindest/node cannot be pulled, which `up` only looks for."""

import argparse
from collections.abc import Sequence

from workshop.cli import run
from workshop.cluster import providers


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/cluster",
        description=providers.__doc__.split("\n\n")[0],
        epilog="scripts/cluster build [--programs]: build the kind node image where kindest/node cannot be pulled",
    )
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--provider", choices=("kind",), help="the cluster the workshop makes (default: kind)")
    parser.add_argument("--context", help="use this existing context of yours instead of making a cluster")
    parser.add_argument("--kubeconfig", help="a student's: the kubeconfig your teacher gave you (scripts/class up)")
    args = parser.parse_args(argv)
    if args.action == "up":
        print(providers.up(args.provider, args.context, kubeconfig=args.kubeconfig))
    elif args.action == "down":
        print(providers.down())
    else:
        return providers.status()
    return 0


if __name__ == "__main__":
    run(main, "cluster")
