"""scripts/reset: remove what the lecture created, and nothing else.

What counts as the lecture's is what the workshop wrote down when it made it (.workshop/made.json,
see workshop/ledger.py), and the exact names the deck's own boxes give things:
  containers   the deck's `--name`s (workshop-demo, workshop-oom), and recorded ones still of the
               recorded id; never the registry container or kind's nodes (--all removes those)
  images       the deck's `-t` tags, and the lecture's app images the workshop built (still of
               the recorded id); with --all also the base images it built or pulled, and the kind
               node image it built with the images that image was built from
  registry     only in the registry this checkout's prepare started: the deck's pushes and the
               recorded pushes, except those the manifests name (--all: those too)
  Kubernetes   the lecture's labelled objects, only in the workshop's own namespace
With --all, also the registry itself (its storage stays), the workshop cluster (on a cluster you
brought, only the namespace the workshop created) and, last, a dockerd the workshop started itself
(never Docker Desktop or a system service). A name prefix or a label never counts."""

import argparse
import fnmatch
import json
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workshop import ledger, names, paths
from workshop.cli import FAILED, OK, WorkshopError, quiet, run
from workshop.cluster import existing, kubectl, providers
from workshop.deck import docker_commands
from workshop.machine import app_images, installed, registry
from workshop.machine.engine import ENGINE as engine
from workshop.names import PART_OF

K8S_KINDS = "deployments,replicasets,pods,services,jobs,configmaps,secrets,poddisruptionbudgets"


@dataclass
class Item:
    """One thing to remove: what it is, its name as printed, and how to remove it.
    remove() returns None when done, or a one-line note when it was kept on purpose."""

    kind: str
    name: str
    remove: Callable[[], str | None]


def _remove_container(ident: str) -> Callable[[], str | None]:
    def remove() -> str | None:
        engine.remove_container(ident)
        if engine.container(ident) is not None:
            raise WorkshopError("the engine did not remove it: docker rm -f says why")
        return None

    return remove


def _remove_image(ref: str) -> Callable[[], str | None]:
    def remove() -> str | None:
        if not engine.remove_image(ref):
            raise WorkshopError("the engine refused to remove it (a container may still use it): docker rmi says why")
        return None

    return remove


def _quietly(stop: Callable[[], object]) -> Callable[[], str | None]:
    def remove() -> str | None:
        stop()
        return None

    return remove


def _ids(kind: str, names: Sequence[str]) -> dict[str, str]:
    """name -> full id, for those of the named containers or images that exist (each asked alone,
    so one that vanishes meanwhile cannot hide the others)."""
    found = {}
    for name in names:
        if kind == "image":
            ident = engine.image_id(name)
        else:
            try:
                container = engine.container(name)
            except WorkshopError:  # the engine does not say: nothing found
                container = None
            ident = container.id if container else None
        if ident:
            found[name] = ident
    return found


# ---------------------------------------------------------------- Docker


def find_containers(declared: docker_commands.Declared) -> list[Item]:
    recorded = {e["name"]: e.get("id") for e in ledger.of_kind("container")}
    names = sorted(declared.containers | set(recorded))
    items = []
    for name, ident in _ids("container", names).items():
        if name in declared.containers or ident == recorded.get(name):
            items.append(Item("container", name, _remove_container(ident)))
    return items


def find_images(declared: docker_commands.Declared, everything: bool) -> list[Item]:
    roles = {"app", "class-terminal"} | ({"standin", "pulled", "kind-node", "kind-build"} if everything else set())
    recorded = {e["name"]: ledger.image_ids(e) for e in ledger.of_kind("image") if e.get("role") in roles}
    items = []
    for ref, ident in _ids("image", sorted(declared.images | set(recorded))).items():
        if ref in declared.images or ident in recorded.get(ref, set()):
            items.append(Item("image", ref, _remove_image(ref)))
    return items


# ---------------------------------------------------------------- the local registry


def _delete_manifest(repository: str, tag: str, digest: str, shared: bool) -> Callable[[], str | None]:
    def remove() -> str | None:
        if shared:
            return "kept: a tag the manifests use points to the same image"
        try:
            with registry.request(f"/v2/{repository}/manifests/{digest}", "DELETE"):
                return None
        except urllib.error.HTTPError as error:
            if error.code == 405:
                return (
                    "kept: this registry does not allow deleting (storage.delete.enabled is off); "
                    "scripts/reset --all stops the registry, and deleting its storage removes the tag"
                )
            raise WorkshopError(f"the registry refused to delete {repository}:{tag}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise WorkshopError(f"the registry did not answer: {error}") from None

    return remove


def _split(ref: str):
    """localhost:5001/okpy-mini:v2 -> ('okpy-mini', 'v2')."""
    repository, _, tag = ref[len(registry.ADDRESS) + 1 :].rpartition(":")
    return repository, tag


def find_registry_tags(
    declared: docker_commands.Declared, everything: bool, notes: list[str], only: str | None = None
) -> list[Item]:
    ours = {
        ref
        for ref in declared.pushes | {e["name"] for e in ledger.of_kind("registry-tag")}
        if ref.startswith(registry.ADDRESS + "/") and (only is None or fnmatch.fnmatchcase(ref, only))
    }
    if not ours or not registry.status():
        return []
    if not registry.ours():
        notes.append(
            f"the registry on {registry.ADDRESS} was not started by this checkout, so no tag in it was touched"
        )
        return []
    kept = set() if everything else set(app_images.manifest_images())
    kept_digests = {registry.digest(*_split(ref)) for ref in kept}
    items = []
    for ref in sorted(ours - kept):
        repository, tag = _split(ref)
        digest = registry.digest(repository, tag)
        if digest:
            items.append(Item("registry tag", ref, _delete_manifest(repository, tag, digest, digest in kept_digests)))
    return items


def find_registry(everything: bool) -> list[Item]:
    """With --all: the registry process or container that this checkout's prepare started."""
    if not everything or not registry.ours():
        return []
    return [Item("registry", f"{registry.ADDRESS} ({registry.describe()})", _quietly(registry.down))]


# ---------------------------------------------------------------- Kubernetes


def find_kubernetes_objects(notes: list[str]) -> list[Item]:
    if (
        providers.chosen() is None
        or not kubectl.exists()
        or (ledger.find("namespace", names.namespace()) is None and not providers.is_student())
    ):
        return []
    namespace = providers.namespace()
    elsewhere = None if providers.is_student() else existing.namespace_here()
    if elsewhere is not None:
        notes.append(f"{elsewhere}: its objects there were left alone")
        return []
    done = kubectl.run(
        "get", K8S_KINDS, "-n", namespace, "-l", PART_OF, "--request-timeout=15s", "-o", "json", check=False, timeout=30
    )
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        notes.append(f"the workshop cluster did not answer, so its objects were left alone ({why[:120]})")
        return []
    items = []
    for found in json.loads(done.stdout or "{}").get("items", []):
        kind, name = found["kind"].lower(), found["metadata"]["name"]
        items.append(Item(kind, f"{namespace}/{name}", _kubectl_delete(kind, name, namespace)))
    return items


def _kubectl_delete(kind: str, name: str, namespace: str) -> Callable[[], str | None]:
    def remove() -> str | None:
        # a deployment's replicasets and pods may already be gone with it: not an error
        kubectl.run("delete", kind, name, "-n", namespace, "--ignore-not-found", "--wait=false", timeout=60)
        return None

    return remove


def find_cluster(everything: bool) -> list[Item]:
    """With --all: the workshop cluster itself (on a context you brought, only the workshop's namespace)."""
    chosen = providers.chosen()
    if not everything or chosen is None:
        return []
    return [Item("cluster", f"workshop ({chosen.get('provider', '?')})", _quietly(lambda: providers.down(say=quiet)))]


def find_engine(everything: bool) -> list[Item]:
    """With --all: the dockerd this checkout's prepare started itself (CI, a Linux machine where it is
    root), last, once nothing else needs it. Docker Desktop or a system service is never the workshop's."""
    ours = installed.recorded() if everything else None
    if ours is None or ours.get("state") != str(paths.state()):  # another checkout's engine is its own
        return []
    return [
        Item(
            "engine",
            f"dockerd ({ours['kind']}, pid {ours['pid']}, started by the workshop)",
            _quietly(installed.stop),
        )
    ]


# ---------------------------------------------------------------- the command


def plan(everything: bool = False, only: str | None = None, notes: list[str] | None = None) -> list[Item]:
    """Everything reset would remove, in the order it removes them: the cluster's objects while it
    still runs, then the cluster, containers, the registry's tags while it runs, the registry, the
    images, as the containers and the registry use some of them, and the engine the workshop started."""
    notes = notes if notes is not None else []
    declared = docker_commands.declared()
    items = find_kubernetes_objects(notes) + find_cluster(everything)
    engine_answers = engine.server_version(timeout=10)
    if engine_answers:
        items += find_containers(declared)
        for volume in sorted(declared.volumes):
            if engine.volume_exists(volume):
                notes.append(
                    f"kept: volume {volume}, named by a box of the deck, which removes it itself (nothing "
                    f"records that the workshop made it): docker volume rm {volume} if it is not yours"
                )
    else:
        notes.append("no Docker engine answers, so containers and images were not looked at")
    items += find_registry_tags(declared, everything, notes, only) + find_registry(everything)
    if engine_answers:
        items += find_images(declared, everything)
    items += find_engine(everything)
    if only:
        items = [item for item in items if fnmatch.fnmatchcase(item.name, only)]
    return items


def _count(counts: dict[str, int]) -> str:
    return ", ".join(f"{number} {kind}{'s' if number != 1 else ''}" for kind, number in counts.items())


def _forget(item: Item) -> None:
    """What reset removed is no longer the workshop's to remember."""
    kind = {"container": "container", "image": "image", "registry tag": "registry-tag"}.get(item.kind)
    if kind:
        ledger.forget(kind, item.name)


def reset(everything: bool = False, dry_run: bool = False, only: str | None = None, say=print) -> int:
    notes: list[str] = []
    items = plan(everything, only, notes)
    for text in notes:
        say(f"note: {text}")
    if not items:
        say("nothing to reset")
        return 0
    done: dict[str, int] = {}
    failed = kept = 0
    for item in items:
        if dry_run:
            say(f"would remove {item.kind} {item.name}")
            done[item.kind] = done.get(item.kind, 0) + 1
            continue
        try:
            note = item.remove()
        except WorkshopError as error:
            failed += 1
            say(f"could not remove {item.kind} {item.name}: {str(error).splitlines()[0]}")
            continue
        if note:
            kept += 1
            say(f"{note}: {item.kind} {item.name}")
            continue
        _forget(item)
        done[item.kind] = done.get(item.kind, 0) + 1
        say(f"removed {item.kind} {item.name}")
    verb = "would remove" if dry_run else "removed"
    summary = f"reset: {verb} {_count(done) or 'nothing'}"
    if kept:
        summary += f"; kept {kept} on purpose (see above)"
    if failed:
        summary += f"; {failed} could not be removed (see above)"
    if dry_run:
        summary += "; nothing was changed (--dry-run)"
    say(summary)
    return FAILED if failed else OK


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/reset",
        description=__doc__.split("\n\n")[0],
        epilog="Run scripts/prepare afterwards to have the images the next lecture starts from again.",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="also the base images the workshop built or pulled, "
        "every tag it pushed, the local registry, the workshop cluster and a dockerd the workshop started",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    parser.add_argument(
        "--only",
        metavar="PATTERN",
        help="only what is named like this shell pattern (e.g. 'workshop-oom' or 'localhost:5001/okpy-mini:*')",
    )
    args = parser.parse_args(argv)
    return reset(args.all, args.dry_run, args.only)


if __name__ == "__main__":
    run(main, "reset")
