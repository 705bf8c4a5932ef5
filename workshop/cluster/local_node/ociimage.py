"""Writes an image archive that holds one static program, without Docker.

The archive is both an OCI image layout (oci-layout, index.json, blobs/) and a `docker save`
archive (manifest.json with RepoTags), so `ctr images import` and `docker load` both take it.
"""
import hashlib
import io
import json
import tarfile
from pathlib import Path


def _tar_bytes(files) -> bytes:
    """An uncompressed tar of (name, data, mode) entries with fixed owners and times."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uid, info.gid = len(data), mode, 0, 0, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _blob(data: bytes):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return digest, f"blobs/sha256/{digest.split(':')[1]}"


def image_files(program: bytes, path_in_image: str, reference: str):
    """The (name, data, mode) entries of the archive for an image running `path_in_image`."""
    layer = _tar_bytes([(path_in_image.lstrip("/"), program, 0o755)])
    layer_digest, layer_path = _blob(layer)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": [path_in_image], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created_by": "workshop local_node: one static program"}],
    }, sort_keys=True).encode()
    config_digest, config_path = _blob(config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": len(layer)}],
    }, sort_keys=True).encode()
    manifest_digest, manifest_path = _blob(manifest)
    index = json.dumps({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": len(manifest),
            "annotations": {"io.containerd.image.name": reference, "org.opencontainers.image.ref.name": reference.rsplit(":", 1)[1]},
        }],
    }).encode()
    docker_manifest = json.dumps([{"Config": config_path, "RepoTags": [reference], "Layers": [layer_path]}]).encode()
    return [
        ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}', 0o644),
        ("index.json", index, 0o644),
        ("manifest.json", docker_manifest, 0o644),
        (layer_path, layer, 0o644),
        (config_path, config, 0o644),
        (manifest_path, manifest, 0o644),
    ]


def write_single_binary_image(archive: Path, program: Path, path_in_image: str, reference: str) -> None:
    tmp = archive.with_suffix(".tmp")
    tmp.write_bytes(_tar_bytes(image_files(program.read_bytes(), path_in_image, reference)))
    tmp.replace(archive)
