"""scripts/cluster up|down|status|build: one workshop cluster (see workshop/cluster/providers.py).
`build` only builds the Kubernetes programs of the kind node image made where kindest/node cannot be
pulled (CI starts it early, in the background); `up` does it too when needed."""

import argparse
import time
from collections.abc import Sequence

from workshop.cli import run
from workshop.cluster import node_build, providers


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster", description=providers.__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("up", "down", "status", "build"))
    parser.add_argument("--provider", choices=("kind",), help="the cluster the workshop makes (default: kind)")
    parser.add_argument("--context", help="use this existing context of yours instead of making a cluster")
    parser.add_argument("--kubeconfig", help="a student's: the kubeconfig your teacher gave you (scripts/class up)")
    args = parser.parse_args(argv)
    if args.action == "up":
        print(providers.up(args.provider, args.context, kubeconfig=args.kubeconfig))
    elif args.action == "build":
        started = time.monotonic()
        target = node_build.ensure_binaries(say=lambda line: print(line, flush=True))
        print(
            f"Kubernetes {node_build.kubernetes_version()} programs ready in {target} "
            f"({time.monotonic() - started:.1f} s)"
        )
    elif args.action == "down":
        print(providers.down())
    else:
        return providers.status()
    return 0


if __name__ == "__main__":
    run(main, "cluster")
