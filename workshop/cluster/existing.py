"""The existing-cluster provider: a context the user names explicitly (minikube, Docker
Desktop, a cloud cluster). Its entries are read from the user's kubeconfig, which is only
read (never with kubectl, whose wrappers may contact the current context), and written to
the workshop's own file as context `workshop`. `down` forgets it and never touches the cluster."""

import os
from collections.abc import Callable
from pathlib import Path

import yaml

from workshop import ledger, names
from workshop.cli import WorkshopError
from workshop.cluster import kubectl
from workshop.names import CONTEXT
from workshop.paths import kubeconfig, write_private

PATH_KEYS = ("certificate-authority", "client-certificate", "client-key", "tokenFile")


def user_kubeconfigs() -> list[Path]:
    listed = os.environ.get("KUBECONFIG")
    if listed:
        return [Path(p) for p in listed.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def _absolute(entry: dict, folder: Path) -> dict:
    return {
        key: str((folder / value).resolve()) if key in PATH_KEYS and not os.path.isabs(str(value)) else value
        for key, value in entry.items()
    }


def extract(context: str, sources: list[Path]) -> dict:
    """A one-context kubeconfig for `context` from these files (the first that defines a name wins)."""
    found: dict[str, dict[str | None, dict]] = {"contexts": {}, "clusters": {}, "users": {}}  # an entry may lack a name
    for source in sources:
        try:
            data = yaml.safe_load(source.read_text()) or {}
        except (OSError, yaml.YAMLError):
            continue
        for section, inner in (("contexts", "context"), ("clusters", "cluster"), ("users", "user")):
            for item in data.get(section) or []:
                entry = _absolute(item.get(inner) or {}, source.parent)
                found[section].setdefault(item.get("name"), entry)
    if context not in found["contexts"]:
        raise WorkshopError(
            f"there is no context {context!r} in your kubeconfig: `kubectl config get-contexts` lists the ones you have"
        )
    ctx = dict(found["contexts"][context])
    cluster, user = ctx.get("cluster"), ctx.get("user")
    if cluster not in found["clusters"]:
        raise WorkshopError(f"context {context!r} names cluster {cluster!r}, which your kubeconfig does not define")
    ctx.update(cluster=CONTEXT, user=CONTEXT)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": CONTEXT,
        "contexts": [{"name": CONTEXT, "context": ctx}],
        "clusters": [{"name": CONTEXT, "cluster": found["clusters"][cluster]}],
        "users": [{"name": CONTEXT, "user": found["users"].get(user, {})}],
    }


def up(context: str, say: Callable[[str], None] = print, sources: list[Path] | None = None) -> str:
    config = extract(context, sources or user_kubeconfigs())
    write_private(kubeconfig(), yaml.safe_dump(config, sort_keys=False))
    return f"existing cluster {context!r}: {kubectl.node_summary()}"


def using(context: str) -> str:
    return (
        f"the workshop now uses your context {context!r} (copied into .workshop/kubeconfig); "
        f"its nodes must be able to pull from localhost:5001 for the deploy slides"
    )


def namespace_here() -> str | None:
    """None if the workshop's namespace on record was made on the cluster the workshop reaches now;
    else one line saying why its objects are not the workshop's to delete there."""
    made = kubectl.Identity.recorded(ledger.find("namespace", names.namespace()))
    here = kubectl.identity(timeout=15)
    if here is None:
        return "the workshop's cluster does not answer"
    if made is None:
        return f"nothing on record says the workshop made namespace {names.namespace()!r} on {here}"
    if made.uid != here.uid:
        return f"namespace {names.namespace()!r} was made on {made}, but the workshop now reaches {here}"
    return None


def down(say: Callable[[str], None] = print) -> str:
    """Delete the one thing the workshop made there (its namespace, if the record says it made it on this
    very cluster) and forget it. A cluster that does not answer, or another cluster, is refused."""
    if ledger.find("namespace", names.namespace()) and kubectl.exists():
        why = namespace_here()
        if why is not None:
            raise WorkshopError(
                f"{why}: nothing was deleted; point the workshop back at that cluster and run scripts/cluster "
                f"down again, or delete .workshop/cluster.json and .workshop/kubeconfig to forget it"
            )
        kubectl.run("delete", "namespace", names.namespace(), "--ignore-not-found", "--wait=false", check=False)
    kubeconfig().unlink(missing_ok=True)
    return "forgot the existing cluster (nothing of it but the workshop's namespace was changed)"


def status(say: Callable[[str], None] = print) -> str:
    return f"existing cluster: {kubectl.node_summary()}"


class Borrowed:
    """What the providers of a cluster the workshop did not make share: nothing to check first, and
    nothing of the cluster recorded as made."""

    makes_cluster = False

    def check(self) -> None:
        return None

    def made_anything(self) -> bool:
        return False


class Existing(Borrowed):
    """The existing-cluster provider behind providers.Provider: the cluster is the user's, never ours."""

    name = "existing"

    def up(self, say: Callable[[str], None], context: str | None = None) -> str:
        if not context:
            raise WorkshopError("name the context to use: scripts/cluster up --context NAME")
        return up(context, say)

    def down(self, say: Callable[[str], None]) -> str:
        return down(say)

    def status(self, say: Callable[[str], None]) -> str:
        return status(say)


PROVIDER = Existing()


class Student(Borrowed):
    """A student's namespace on a class cluster (scripts/class up): the kubeconfig file the teacher handed
    out, copied as context `workshop`. Its namespace is the student's; nothing cluster-wide is theirs."""

    name = "student"

    def up(self, say: Callable[[str], None], context: str | None = None) -> str:
        if not context:
            raise WorkshopError("name the kubeconfig your teacher gave you: scripts/cluster up --kubeconfig FILE")
        path = Path(context).expanduser()
        if not path.is_file():
            raise WorkshopError(f"there is no file {path}: name the kubeconfig your teacher gave you")
        data = yaml.safe_load(path.read_text()) or {}
        current = data.get("current-context") or ""
        config = extract(current, [path.resolve()])
        if not config["contexts"][0]["context"].get("namespace"):
            raise WorkshopError(f"{path} names no namespace in its context; ask your teacher for the class's file")
        write_private(kubeconfig(), yaml.safe_dump(config, sort_keys=False))
        namespace = config["contexts"][0]["context"]["namespace"]
        return f"your namespace {namespace!r} on the class's cluster"

    def down(self, say: Callable[[str], None]) -> str:
        kubeconfig().unlink(missing_ok=True)
        return "forgot the class's cluster (your namespace and what is in it stay; scripts/reset empties it)"

    def status(self, say: Callable[[str], None]) -> str:
        pods = kubectl.run("get", "pods", "--no-headers", check=False, timeout=20)
        return (
            f"your namespace on the class's cluster: {len(pods.stdout.splitlines())} pod(s)"
            if pods.returncode == 0
            else "your namespace does not answer: " + pods.stderr.strip()[:120]
        )


STUDENT = Student()
