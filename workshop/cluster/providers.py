"""One workshop cluster, from one of two providers behind one interface (Provider below):

    kind        a kind cluster wired to the local registry, made and owned by the workshop
    existing    a context you already have (minikube, k3s, Docker Desktop, a cloud or department
                cluster), used only when you name it: scripts/cluster up --context NAME

Whichever it is, its kubeconfig is .workshop/kubeconfig with a context named `workshop`;
~/.kube/config is never written. Which provider made it is recorded in .workshop/cluster.json.
"""

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from workshop import ledger, names, paths
from workshop.cli import FAILED, WorkshopError
from workshop.cluster import existing, kind, kubectl
from workshop.names import CONTEXT


def choice_file() -> Path:
    """The provider chosen by `scripts/cluster up` and what it made."""
    return paths.state() / "cluster.json"


class Provider(Protocol):
    """What scripts/cluster needs of a provider (kind's own providers have the same shape)."""

    name: str
    makes_cluster: bool  # True: the workshop made the cluster and may delete it

    def check(self) -> None:
        """Raise WorkshopError, saying what to install or do, if this provider cannot work here."""

    def up(self, say: Callable[[str], None], context: str | None = None) -> str:
        """Make or adopt the cluster, write .workshop/kubeconfig; a one-line summary."""

    def down(self, say: Callable[[str], None]) -> str:
        """Remove what the workshop made for it; a one-line summary."""

    def status(self, say: Callable[[str], None]) -> str:
        """A one-line summary of the cluster."""

    def made_anything(self) -> bool:
        """Has it recorded anything it made (so that down has something to remove)?"""


PROVIDERS: dict[str, Provider] = {p.name: p for p in (kind.PROVIDER, existing.PROVIDER, existing.STUDENT)}


def chosen() -> dict | None:
    try:
        return json.loads(choice_file().read_text())
    except (OSError, ValueError):
        return None


def remember(provider: str, context: str | None = None) -> None:
    paths.state().mkdir(parents=True, exist_ok=True)
    choice_file().write_text(json.dumps({"provider": provider, "context": context}) + "\n")


def recorded() -> Provider | None:
    """The provider of the workshop's cluster, if there is one."""
    previous = chosen()
    if previous is None:
        return None
    found = PROVIDERS.get(previous.get("provider", ""))
    if found is None:
        raise WorkshopError(
            f".workshop/cluster.json names the provider {previous.get('provider')!r}, which this "
            f"version of the workshop no longer has: stop that cluster with the version that made it, "
            f"then delete .workshop/cluster.json"
        )
    return found


def up(name: str | None = None, context: str | None = None, say=print, kubeconfig: str | None = None) -> str:
    if kubeconfig:
        name, context = "student", kubeconfig
    elif context:
        name = "existing"
    elif name in ("existing", "student"):
        raise WorkshopError("name the context to use: scripts/cluster up --context NAME")
    previous = recorded()
    if previous and kubectl.exists() and name and previous.name != name:
        raise WorkshopError(f"the workshop already uses a {previous.name} cluster: run scripts/cluster down first")
    provider = PROVIDERS[name] if name else (previous or kind.PROVIDER)
    provider.check()
    if provider.makes_cluster:
        remember(provider.name)  # ours from before it exists: down works after a Ctrl-C anywhere
    try:
        summary = provider.up(say, context)
    except WorkshopError:
        if provider.makes_cluster and not provider.made_anything():
            choice_file().unlink(missing_ok=True)  # refused before making anything: nothing to remember
        raise
    try:
        if provider.name != "student":
            ensure_namespace(provider)
    except WorkshopError:
        if not provider.makes_cluster:  # refused: nothing of the user's context stays with the workshop
            paths.kubeconfig().unlink(missing_ok=True)
        raise
    if not provider.makes_cluster:
        remember(provider.name, context)
        if provider.name == "existing":
            say(existing.using(context or ""))
    return summary


def is_student() -> bool:
    """Is the cluster a student's namespace on a class cluster (scripts/cluster up --kubeconfig)?"""
    return (chosen() or {}).get("provider") == existing.STUDENT.name


def namespace() -> str:
    """The namespace the lecture's objects live in: the workshop's own, or a student's."""
    if is_student() and kubectl.exists():
        import yaml

        data = yaml.safe_load(paths.kubeconfig().read_text())
        return data["contexts"][0]["context"].get("namespace") or names.namespace()
    return names.namespace()


def ensure_namespace(provider: Provider) -> None:
    """The workshop's own namespace, made by the workshop and set in its context. On a cluster the
    workshop did not make, a namespace of that name that it did not create there is someone else's:
    the record names the cluster it was made on, and a record of another cluster proves nothing here."""
    here = kubectl.identity()
    if here is None:
        raise WorkshopError("the cluster does not answer: `scripts/cluster status` says why")
    there = kubectl.run("get", "namespace", names.namespace(), "--ignore-not-found", "-o", "name").stdout.strip()
    made = kubectl.Identity.recorded(ledger.find("namespace", names.namespace()))
    made_here = made is not None and made.uid == here.uid
    if there and not provider.makes_cluster and not made_here:
        raise WorkshopError(
            f"your cluster already has a namespace {names.namespace()!r} that the workshop did not create; "
            f"it is not the workshop's to use: delete it yourself if it is unused, or use another "
            f"context"
        )
    if not there:
        kubectl.run("create", "namespace", names.namespace())
    if not made_here:
        ledger.record("namespace", names.namespace(), provider=provider.name, **here.record())
    kubectl.run("config", "set-context", CONTEXT, f"--namespace={names.namespace()}", context=None)


def down(say=print) -> str:
    provider = recorded()
    if provider is None:
        return "no workshop cluster to remove"
    from workshop.cluster import class_door, classroom

    gone = kubectl.identity(timeout=10) if provider.makes_cluster and kubectl.exists() else None
    if provider.makes_cluster:
        class_door.close()  # on the kind network, which goes with the cluster
    summary = provider.down(say)
    if gone is not None:
        classroom.forget_cluster(gone)  # the class's namespaces went with the cluster
    paths.kubeconfig().unlink(missing_ok=True)
    forget_copies()
    choice_file().unlink(missing_ok=True)
    ledger.forget("namespace", names.namespace())
    return summary


def forget_copies() -> None:
    """Remove every copy of the kubeconfig the workshop shell made (and kubectl's cache beside it)."""
    for copy in paths.kubeconfig_copies():
        if copy.is_dir():
            shutil.rmtree(copy, ignore_errors=True)
        else:
            for leftover in [copy, *copy.parent.glob(copy.name + ".*")]:
                leftover.unlink(missing_ok=True)


def status(say=print) -> int:
    provider = recorded()
    if provider is None or not kubectl.exists():
        say("no workshop cluster: run scripts/cluster up")
        return FAILED
    say(f"{provider.status(say)} (kubeconfig .workshop/kubeconfig, context workshop)")
    return 0
