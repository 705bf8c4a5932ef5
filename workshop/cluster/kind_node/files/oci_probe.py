"""Writes the probe as a one-binary image archive (OCI layout + docker-save manifest),
without Docker, with the recipe's label. Uses the workshop's ociimage.py for the tar and
blob helpers; only the image config differs (ociimage.py writes no labels).

usage: python3 oci_probe.py PROGRAM REFERENCE ARCHIVE
ociimage.py is loaded from its file (WORKSHOP, default /work/main): importing it as
workshop.cluster.local_node.ociimage runs that package's __init__, which needs psutil.
"""
import importlib.util
import json
import os
import sys
from pathlib import Path

_OCIIMAGE = Path(os.environ.get("WORKSHOP", "/work/main")) / "workshop/cluster/local_node/ociimage.py"
_spec = importlib.util.spec_from_file_location("ociimage", _OCIIMAGE)
ociimage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ociimage)

LABELS = {"edu.cs198.workshop": "kind-node"}


def archive_entries(program: bytes, path_in_image: str, reference: str):
    entries = ociimage.image_files(program, path_in_image, reference)
    by_name = {name: data for name, data, _ in entries}
    index = json.loads(by_name["index.json"])
    manifest_path = "blobs/sha256/" + index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads(by_name[manifest_path])
    config_path = "blobs/sha256/" + manifest["config"]["digest"].split(":")[1]
    config = json.loads(by_name[config_path])
    config["config"]["Labels"] = LABELS
    config["config"]["Env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_digest, new_config_path = ociimage._blob(config_bytes)
    manifest["config"].update(digest=config_digest, size=len(config_bytes))
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    manifest_digest, new_manifest_path = ociimage._blob(manifest_bytes)
    index["manifests"][0].update(digest=manifest_digest, size=len(manifest_bytes))
    layer_paths = [p for p, _, _ in entries if p.startswith("blobs/") and p not in (config_path, manifest_path)]
    docker_manifest = [{"Config": new_config_path, "RepoTags": [reference], "Layers": layer_paths}]
    out = [(n, d, m) for n, d, m in entries if n in ("oci-layout",) or n in layer_paths]
    out += [("index.json", json.dumps(index).encode(), 0o644),
            ("manifest.json", json.dumps(docker_manifest).encode(), 0o644),
            (new_config_path, config_bytes, 0o644),
            (new_manifest_path, manifest_bytes, 0o644)]
    return out


def main(program: str, reference: str, archive: str) -> None:
    data = ociimage._tar_bytes(archive_entries(Path(program).read_bytes(), "/probe", reference))
    Path(archive).write_bytes(data)


if __name__ == "__main__":
    main(*sys.argv[1:4])
