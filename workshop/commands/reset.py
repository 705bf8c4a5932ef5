"""scripts/reset: remove what the lecture created, and nothing else.

What counts as the lecture's:
  containers   named workshop-*, or labelled edu.cs198.workshop (a label inherited from a
               stand-in base image does not count); never the registry container or kind's nodes
  images       workshop-demo-*, localhost:5001/okpy-mini:*, and any image labelled
               edu.cs198.workshop except the stand-in base images (label value `standin`)
  registry     okpy-mini tags in the local registry that the manifests do not name (v2, ...)
  Kubernetes   deployments, replicasets, pods and services labelled
               app.kubernetes.io/part-of=cs198-workshop, when a workshop cluster is configured
With --all, also the stand-in base images, every okpy-mini tag, the registry itself
(registry.down(), its storage stays) and the workshop cluster (providers.down())."""
import argparse
import fnmatch
import json
import urllib.error
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from workshop.cli import WorkshopError, run
from workshop.cluster import kubectl, providers
from workshop.machine import app_images, engine, registry
from workshop.names import APP_IMAGE, APP_REPOSITORY as REGISTRY_REPO, KIND_LABEL, LABEL, PART_OF as K8S_LABEL, \
    STANDIN

NAME_PREFIX = "workshop-"
IMAGE_PREFIXES = ("workshop-demo-", f"{APP_IMAGE}:")
K8S_KINDS = "deployments,replicasets,pods,services"


@dataclass
class Item:
    """One thing to remove: what it is, its name as printed, and how to remove it.
    remove() returns None when done, or a one-line note when it was kept on purpose."""
    kind: str
    name: str
    remove: Callable[[], Optional[str]]


# ---------------------------------------------------------------- which things are the lecture's

def container_is_ours(name: str, labels: Dict[str, str]) -> bool:
    if KIND_LABEL in labels or name == registry.CONTAINER:
        return False      # providers.down() and registry.down() remove those, with --all
    if name.startswith(NAME_PREFIX):
        return True
    return labels.get(LABEL) not in (None, STANDIN)


def image_is_ours(ref: str, labels: Dict[str, str], everything: bool = False) -> bool:
    if ref.startswith(IMAGE_PREFIXES):
        return True
    value = labels.get(LABEL)
    if value is None:
        return False
    return everything or value != STANDIN


def registry_tag_is_ours(tag: str, kept: Sequence[str], everything: bool = False) -> bool:
    return everything or f"{registry.ADDRESS}/{REGISTRY_REPO}:{tag}" not in kept


# ---------------------------------------------------------------- finding them

def _docker_lines(*args: str) -> List[str]:
    return (engine.output(*args) or "").splitlines()


def _labels(kind: str, ids: Sequence[str]) -> Dict[str, Dict[str, str]]:
    labels = {}
    for line in _docker_lines(kind, "inspect", "--format", "{{.Id}}\t{{json .Config.Labels}}", *ids) if ids else []:
        ident, _, text = line.partition("\t")
        labels[ident] = json.loads(text or "null") or {}
    return labels


def _docker_remove(*args: str) -> Callable[[], Optional[str]]:
    def remove() -> Optional[str]:
        engine.docker(*args, timeout=120)
        return None
    return remove


def find_containers() -> List[Item]:
    rows = [line.split("\t") for line in _docker_lines("ps", "-a", "--no-trunc", "--format", "{{.ID}}\t{{.Names}}")]
    labels = _labels("container", [row[0] for row in rows])
    items = []
    for ident, name in rows:
        if container_is_ours(name, labels.get(ident, {})):
            items.append(Item("container", name, _docker_remove("rm", "-f", ident)))
    return items


def find_images(everything: bool) -> List[Item]:
    rows = [line.split("\t") for line in
            _docker_lines("images", "--no-trunc", "--format", "{{.Repository}}\t{{.Tag}}\t{{.ID}}")]
    labels = _labels("image", sorted({row[2] for row in rows}))
    tagged, untagged = [], []
    for repository, tag, ident in rows:
        named = repository != "<none>" and tag != "<none>"
        ref = f"{repository}:{tag}" if named else ident.replace("sha256:", "")[:12]
        if image_is_ours(ref if named else "", labels.get(ident, {}), everything):
            shown = ref if named else f"{ref} (untagged)"
            (tagged if named else untagged).append(Item("image", shown, _docker_remove("rmi", ref)))
    return tagged + untagged      # untagging first frees images that had several tags


def _registry_digest(tag: str) -> Optional[str]:
    return registry.digest(REGISTRY_REPO, tag)


def _delete_manifest(tag: str, digest: str, shared: bool) -> Callable[[], Optional[str]]:
    def remove() -> Optional[str]:
        if shared:
            return "kept: a tag the manifests use points to the same image"
        try:
            with registry.request(f"/v2/{REGISTRY_REPO}/manifests/{digest}", "DELETE"):
                return None
        except urllib.error.HTTPError as error:
            if error.code == 405:
                return ("kept: this registry does not allow deleting (storage.delete.enabled is off); "
                        "scripts/reset --all stops the registry, and deleting its storage removes the tag")
            raise WorkshopError(f"the registry refused to delete {REGISTRY_REPO}:{tag}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise WorkshopError(f"the registry did not answer: {error}") from None
    return remove


def find_registry_tags(everything: bool) -> List[Item]:
    if not registry.status():
        return []
    try:
        with registry.request(f"/v2/{REGISTRY_REPO}/tags/list") as answer:
            tags = json.load(answer).get("tags") or []
    except (urllib.error.URLError, OSError, ValueError):
        return []
    kept = app_images.manifest_images()
    ours = [tag for tag in tags if registry_tag_is_ours(tag, kept, everything)]
    kept_digests = {_registry_digest(tag) for tag in tags if tag not in ours}
    items = []
    for tag in ours:
        digest = _registry_digest(tag)
        if digest:
            items.append(Item("registry tag", f"{registry.ADDRESS}/{REGISTRY_REPO}:{tag}",
                              _delete_manifest(tag, digest, digest in kept_digests)))
    return items


def cluster_configured() -> bool:
    return providers.chosen() is not None and kubectl.exists()


def find_kubernetes_objects(notes: List[str]) -> List[Item]:
    if not cluster_configured():
        return []
    done = kubectl.run("get", K8S_KINDS, "--all-namespaces", "-l", K8S_LABEL, "--request-timeout=15s",
                              "-o", "json", check=False, timeout=30)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        notes.append(f"the workshop cluster did not answer, so its objects were left alone ({why[:120]})")
        return []
    items = []
    for found in json.loads(done.stdout or "{}").get("items", []):
        kind, meta = found["kind"].lower(), found["metadata"]
        namespace = meta.get("namespace", "default")
        items.append(Item(kind, f"{namespace}/{meta['name']}", _kubectl_delete(kind, namespace, meta["name"])))
    return items


def _kubectl_delete(kind: str, namespace: str, name: str) -> Callable[[], Optional[str]]:
    def remove() -> Optional[str]:
        # a deployment's replicasets and pods may already be gone with it: not an error
        kubectl.run("delete", kind, name, "-n", namespace, "--ignore-not-found", "--wait=false", timeout=60)
        return None
    return remove


def _quietly(stop: Callable[..., str]) -> Callable[[], Optional[str]]:
    def remove() -> Optional[str]:
        stop()
        return None
    return remove


def find_cluster(everything: bool) -> List[Item]:
    """With --all: the workshop cluster itself (for an existing context, only the workshop's copy of it)."""
    chosen = providers.chosen()
    if not everything or chosen is None:
        return []
    return [Item("cluster", f"workshop ({chosen.get('provider', '?')})",
                 _quietly(lambda: providers.down(say=lambda _: None)))]


def find_registry(everything: bool) -> List[Item]:
    """With --all: the registry process or container that scripts/prepare started (its storage stays)."""
    if not everything or not (registry.our_pid() or registry.container_state() is not None):
        return []
    return [Item("registry", f"{registry.ADDRESS} ({registry.describe()})",
                 _quietly(registry.down))]


def plan(everything: bool = False, only: Optional[str] = None, notes: Optional[List[str]] = None) -> List[Item]:
    """Everything reset would remove, in the order it removes them: the cluster's objects while it
    still runs, then the cluster, containers before the images they use, the registry last."""
    notes = notes if notes is not None else []
    items = find_kubernetes_objects(notes) + find_cluster(everything)
    if engine.server_version(timeout=10):
        items += find_containers() + find_images(everything)
    else:
        notes.append("no Docker engine answers, so containers and images were not looked at")
    items += find_registry_tags(everything) + find_registry(everything)
    if only:
        items = [item for item in items if fnmatch.fnmatchcase(item.name, only)]
    return items


# ---------------------------------------------------------------- the command

def _count(counts: Dict[str, int]) -> str:
    return ", ".join(f"{number} {kind}{'s' if number != 1 else ''}" for kind, number in counts.items())


def reset(everything: bool = False, dry_run: bool = False, only: Optional[str] = None, say=print) -> int:
    notes: List[str] = []
    items = plan(everything, only, notes)
    for note in notes:
        say(f"note: {note}")
    if not items:
        say("nothing to reset")
        return 0
    done: Dict[str, int] = {}
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
    return 1 if failed else 0


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/reset", description=__doc__.split("\n\n")[0],
                                     epilog="Run scripts/prepare afterwards to have the images the next "
                                            "lecture starts from again.")
    parser.add_argument("--all", action="store_true", help="also stand-in base images, every okpy-mini tag, "
                        "the local registry and the workshop cluster")
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    parser.add_argument("--only", metavar="PATTERN", help="only what is named like this shell pattern "
                        "(e.g. 'workshop-oom' or 'localhost:5001/okpy-mini:*')")
    args = parser.parse_args(argv)
    return reset(args.all, args.dry_run, args.only)


if __name__ == "__main__":
    run(main, "reset")
