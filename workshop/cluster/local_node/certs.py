"""The node's certificate authority and the certificates of every component, made with the openssl CLI.

Keys are ECDSA P-256: every component accepts them, and openssl makes the whole set in well
under a second where RSA-2048 takes several."""
import shutil
from pathlib import Path
from typing import Dict, List, NamedTuple, Sequence

from workshop.cli import WorkshopError
from workshop.machine import host

DAYS = "3650"


class Identity(NamedTuple):
    """One certificate: file stem, subject CN and O, subjectAltNames, and whether it serves TLS."""
    name: str
    common_name: str
    organization: str = ""
    alt_names: Sequence[str] = ()
    server: bool = False


def identities(node_name: str) -> List[Identity]:
    """Who talks to whom on the node. Each client is named so that RBAC's built-in roles apply."""
    api_names = ["DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
                 "DNS:kubernetes.default.svc.cluster.local", "IP:127.0.0.1", "IP:10.96.0.1"]
    return [
        Identity("apiserver", "kube-apiserver", "", api_names, server=True),
        Identity("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters"),
        Identity("etcd-server", "workshop-etcd", "", ["DNS:localhost", "IP:127.0.0.1"], server=True),
        Identity("apiserver-etcd-client", "kube-apiserver-etcd-client"),
        Identity("admin", "workshop-admin", "system:masters"),
        Identity("controller-manager", "system:kube-controller-manager"),
        Identity("scheduler", "system:kube-scheduler"),
        Identity("kubelet", f"system:node:{node_name}", "system:nodes"),
        Identity("kubelet-serving", node_name, "", [f"DNS:{node_name}", "DNS:localhost", "IP:127.0.0.1"], server=True),
        Identity("kube-proxy", "system:kube-proxy"),
        Identity("coredns", "workshop:coredns"),
    ]


def openssl() -> str:
    found = shutil.which("openssl")
    if not found:
        raise WorkshopError("the openssl program is needed to make the local cluster's certificates: apt-get install openssl")
    return found


def _run(args: List[str], cwd: Path) -> None:
    host.run([openssl(), *args], cwd=cwd, what=f"openssl {args[0]}")


def extensions(identity: Identity) -> str:
    """The X.509 v3 extensions of a certificate, as an openssl -extfile section."""
    lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature",
             "extendedKeyUsage=" + ("serverAuth" if identity.server else "clientAuth")]
    if identity.alt_names:
        lines.append("subjectAltName=" + ",".join(identity.alt_names))
    return "\n".join(lines) + "\n"


def subject(identity: Identity) -> str:
    return (f"/O={identity.organization}" if identity.organization else "") + f"/CN={identity.common_name}"


def ensure_pki(pki: Path, node_name: str) -> Dict[str, Path]:
    """Create whatever is missing in `pki`: ca, service-account key pair, one pair per identity."""
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    if not (pki / "ca.crt").exists():
        _run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", DAYS,
              "-subj", "/CN=workshop-local-node-ca", "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], pki)
    if not (pki / "sa.pub").exists():
        _run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "sa.key"], pki)
        _run(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], pki)
    for identity in identities(node_name):
        if (pki / f"{identity.name}.crt").exists():
            continue
        (pki / f"{identity.name}.ext").write_text(extensions(identity))
        _run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{identity.name}.key",
              "-out", f"{identity.name}.csr", "-subj", subject(identity)], pki)
        _run(["x509", "-req", "-in", f"{identity.name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
              "-days", DAYS, "-extfile", f"{identity.name}.ext", "-out", f"{identity.name}.crt"], pki)
        (pki / f"{identity.name}.csr").unlink()
    for key in pki.glob("*.key"):
        key.chmod(0o600)
    return {path.stem + path.suffix.replace(".", "_"): path for path in pki.iterdir()}
