"""One workshop cluster, from one of three providers, each with up(), down() and status():

    kind        a kind cluster wired to the local registry (the usual choice on a laptop)
    local-node  a single node from upstream binaries, for Linux machines where we are root
                (CI, development) and kind is not available
    existing    a context you already have (minikube, Docker Desktop, a cloud cluster),
                used only when you name it: scripts/cluster up --context NAME

Whichever it is, its kubeconfig is .workshop/kubeconfig with a context named `workshop`;
~/.kube/config is never written. Which provider made it is recorded in .workshop/cluster.json.
"""
import json
from typing import Optional

from workshop import ledger
from workshop.cli import WorkshopError
from workshop.cluster import existing, kind, kubectl, local_node
from workshop.machine import host
from workshop.names import CONTEXT, NAMESPACE
from workshop.paths import KUBECONFIG, STATE

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


def pick_provider() -> str:
    if kind.available():
        return "kind"
    if host.is_linux_root():
        return "local-node"
    raise WorkshopError("no way to make a cluster here: install kind (https://kind.sigs.k8s.io), "
                        "or use a cluster you have with `scripts/cluster up --context NAME`")


def up(provider: Optional[str] = None, context: Optional[str] = None, say=print) -> str:
    previous = chosen()
    if context:
        provider = "existing"
    elif provider == "existing":
        raise WorkshopError("name the context to use: scripts/cluster up --context NAME")
    if previous and kubectl.exists() and provider and previous["provider"] != provider:
        raise WorkshopError(f"the workshop already uses a {previous['provider']} cluster: "
                            f"run scripts/cluster down first")
    provider = provider or (previous or {}).get("provider") or pick_provider()
    if provider == "existing":
        summary = existing.up(context, say)
    elif provider == "kind":
        if not kind.available():
            raise WorkshopError("kind is not installed: see https://kind.sigs.k8s.io/docs/user/quick-start/")
        summary = kind.up(say)
    else:
        local_node.up(say)
        summary = f"local node: {kubectl.node_summary()}"
    if provider != "existing":
        remember(provider, context)            # the cluster is ours from now on, whatever follows
    try:
        ensure_namespace(provider)
    except WorkshopError:
        if provider == "existing":             # refused: nothing of the user's context stays with the workshop
            KUBECONFIG.unlink(missing_ok=True)
        raise
    if provider == "existing":
        remember(provider, context)
        say(existing.using(context))
    return summary


def ensure_namespace(provider: str) -> None:
    """The workshop's own namespace, made by the workshop and set in its context. On a cluster the
    workshop did not make, a namespace of that name that it did not create is someone else's."""
    there = kubectl.run("get", "namespace", NAMESPACE, "--ignore-not-found", "-o", "name").stdout.strip()
    recorded = ledger.find("namespace", NAMESPACE)
    if there and provider == "existing" and recorded is None:
        raise WorkshopError(f"your cluster already has a namespace {NAMESPACE!r} that the workshop did not create; "
                            f"it is not the workshop's to use: delete it yourself if it is unused, or use another "
                            f"context")
    if not there:
        kubectl.run("create", "namespace", NAMESPACE)
    if recorded is None:
        ledger.record("namespace", NAMESPACE, provider=provider)
    kubectl.run("config", "set-context", CONTEXT, f"--namespace={NAMESPACE}", context=None)


def down(say=print, keep_image: bool = False) -> str:
    previous = chosen()
    if previous is None:
        return "no workshop cluster to remove"
    provider = previous["provider"]
    if provider == "existing":
        if ledger.find("namespace", NAMESPACE) and kubectl.exists():     # the one thing the workshop made there
            kubectl.run("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false", check=False)
        summary = existing.down(say)
    elif provider == "kind":
        summary = kind.down(say, keep_image=keep_image)
    else:
        removed = local_node.down(say)
        summary = f"local node stopped ({len(removed.get('processes', []))} processes)"
    KUBECONFIG.unlink(missing_ok=True)
    CHOICE.unlink(missing_ok=True)
    ledger.forget("namespace", NAMESPACE)
    return summary


def status(say=print) -> int:
    previous = chosen()
    if previous is None or not kubectl.exists():
        say("no workshop cluster: run scripts/cluster up")
        return 1
    provider = previous["provider"]
    if provider == "local-node":
        local_node.status(say)
        summary = f"local node: {kubectl.node_summary()}"
    elif provider == "kind":
        summary = kind.status(say)
    else:
        summary = existing.status(say)
    say(f"{summary} (kubeconfig .workshop/kubeconfig, context workshop)")
    return 0
