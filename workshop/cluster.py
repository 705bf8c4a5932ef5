"""The cluster command: one workshop cluster, from one of three providers.

    kind        a kind cluster wired to the local registry (the usual choice on a laptop)
    local-node  a single node from upstream binaries, for Linux machines where we are root
                (CI, development) and kind is not available
    existing    a context you already have (minikube, Docker Desktop, a cloud cluster),
                used only when you name it: scripts/cluster up --context NAME

Whichever it is, its kubeconfig is .workshop/kubeconfig with a context named `workshop`;
~/.kube/config is never written.
"""
import argparse
import json
from typing import Optional, Sequence

from . import existing_cluster, hostcmd, kind_cluster, kubeconfig
from .cli import WorkshopError, run
from .paths import STATE

CHOICE = STATE / "cluster.json"
PROVIDERS = ("kind", "local-node", "existing")


def chosen() -> Optional[dict]:
    try:
        return json.loads(CHOICE.read_text())
    except (OSError, ValueError):
        return None


def remember(provider: str, context: Optional[str] = None) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    CHOICE.write_text(json.dumps({"provider": provider, "context": context}) + "\n")


def pick_provider(requested: Optional[str]) -> str:
    if requested:
        return requested
    if kind_cluster.available():
        return "kind"
    if hostcmd.is_linux_root():
        return "local-node"
    raise WorkshopError("no way to make a cluster here: install kind (https://kind.sigs.k8s.io), "
                        "or use a cluster you have with `scripts/cluster up --context NAME`")


def up(provider: Optional[str] = None, context: Optional[str] = None, say=print) -> str:
    previous = chosen()
    if context:
        provider = "existing"
    elif provider == "existing":
        raise WorkshopError("name the context to use: scripts/cluster up --context NAME")
    if previous and kubeconfig.exists() and provider and previous["provider"] != provider:
        raise WorkshopError(f"the workshop already uses a {previous['provider']} cluster: "
                            f"run scripts/cluster down first")
    provider = provider or (previous or {}).get("provider") or pick_provider(None)
    if provider == "existing":
        summary = existing_cluster.up(context, say)
    elif provider == "kind":
        if not kind_cluster.available():
            raise WorkshopError("kind is not installed: see https://kind.sigs.k8s.io/docs/user/quick-start/")
        summary = kind_cluster.up(say)
    else:
        from . import local_node
        local_node.up(say)
        summary = f"local node: {kubeconfig.node_summary()}"
    remember(provider, context)
    return summary


def down(say=print) -> str:
    previous = chosen()
    if previous is None:
        return "no workshop cluster to remove"
    provider = previous["provider"]
    if provider == "existing":
        summary = existing_cluster.down(say)
    elif provider == "kind":
        summary = kind_cluster.down(say)
    else:
        from . import local_node
        removed = local_node.down(say)
        summary = f"local node stopped ({len(removed.get('processes', []))} processes)"
    kubeconfig.KUBECONFIG.unlink(missing_ok=True)
    CHOICE.unlink(missing_ok=True)
    return summary


def status(say=print) -> int:
    previous = chosen()
    if previous is None or not kubeconfig.exists():
        say("no workshop cluster: run scripts/cluster up")
        return 1
    provider = previous["provider"]
    if provider == "local-node":
        from . import local_node
        local_node.status(say)
        summary = f"local node: {kubeconfig.node_summary()}"
    elif provider == "kind":
        summary = kind_cluster.status(say)
    else:
        summary = existing_cluster.status(say)
    say(f"{summary} (kubeconfig .workshop/kubeconfig, context workshop)")
    return 0


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument("--provider", choices=("kind", "local-node"), help="default: kind if installed, "
                        "else local-node on Linux as root")
    parser.add_argument("--context", help="use this existing context of yours instead of making a cluster")
    args = parser.parse_args(argv)
    if args.action == "up":
        print(up(args.provider, args.context))
    elif args.action == "down":
        print(down())
    else:
        return status()
    return 0


if __name__ == "__main__":
    run(main, "cluster")
