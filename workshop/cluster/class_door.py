"""The class's door: the workshop's kind API server, reached by students' laptops at ADDR:6443.

kind publishes its API server on 127.0.0.1 of the teacher's machine only, which no other laptop can
reach. Re-creating the cluster with kind's `networking.apiServerAddress` would publish it at one
address for good: the lecture's cluster would be lost for a class, and a laptop that changes networks
would lose its cluster. The door instead is one small container on the `kind` network, made by
`class up` and removed by `class down`, that relays TCP from ADDR:6443 to the control plane's 6443;
TLS goes through it untouched, end to end between kubectl and the API server. The API server's
certificate names `kubernetes` (and the in-cluster names) but not ADDR, so a student's kubeconfig
says which name to verify (`tls-server-name: kubernetes`, read by kubectl and client-go since 1.19):
the identity check is as strict as with a certificate naming ADDR. The teacher's own kubeconfig is
untouched and keeps using 127.0.0.1.

The relay runs on the lecture's own Python base image, as a non-root user, read-only, with every
capability dropped. It is recorded before it is started (a token label proves it), so cleanup removes
this container and no other of that name."""

import ipaddress
import socket
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from workshop import ledger
from workshop.cli import WorkshopError
from workshop.cluster import kubectl
from workshop.machine import host
from workshop.machine.engine import ENGINE as engine
from workshop.machine.engines import Run
from workshop.names import KIND_CLUSTER, PYTHON_IMAGE, RUN_LABEL
from workshop.paths import write_private

CONTAINER = "workshop-class-api"
PORT = 6443
VERIFY_AS = "kubernetes"  # a name every kube-apiserver serving certificate holds
CONTROL_PLANE = f"{KIND_CLUSTER}-control-plane"
RELAY = """
import asyncio, sys
target = sys.argv[1]
async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()
async def handle(reader, writer):
    try:
        up_reader, up_writer = await asyncio.open_connection(target, 6443)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
async def main():
    server = await asyncio.start_server(handle, "0.0.0.0", 6443)
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def default_address() -> str:
    """This machine's address on its default route (a UDP socket's connect sends nothing: it only asks
    the routing table which address a packet to the outside would leave from)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("198.51.100.1", 9))  # a documentation address: never sent to
        return probe.getsockname()[0]
    except OSError as error:
        raise WorkshopError(
            f"this machine has no default route ({error.strerror}): name the address students reach it "
            f"at with scripts/class up --address ADDR"
        ) from error
    finally:
        probe.close()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_address(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError as error:
        raise WorkshopError(
            f"--address {address!r} is not an IP address: give this machine's address on the class's "
            f"network, e.g. --address 192.168.1.20 (`ip -4 addr` lists them)"
        ) from error
    if parsed.version != 4 or parsed.is_unspecified or parsed.is_multicast:
        raise WorkshopError(f"--address {address}: give one IPv4 address of this machine, not {address}")
    return str(parsed)


def server_host(config: Path) -> str:
    return urlsplit(kubectl.cluster_entry(config).get("server", "")).hostname or ""


def ours() -> dict | None:
    return ledger.find("container", CONTAINER)


def _state() -> tuple[str | None, str | None]:
    """The door's (token label, host address it publishes), or (None, None) if there is no such container.
    An engine that does not answer is said, not taken for a door that is gone."""
    found = engine.container(CONTAINER)  # raises, with the fix, when the engine does not say
    if found is None:
        return None, None
    return found.labels.get(RUN_LABEL) or None, next(iter(found.host_addresses), None) or None


def close() -> bool:
    """Remove the door if the workshop made it; True if there was one to remove."""
    entry = ours()
    if entry is None:
        return False
    token, _ = _state()
    removed = token is not None and token == entry.get("token")
    if removed:
        engine.remove_container(CONTAINER)
    ledger.forget("container", CONTAINER)
    return removed


def open_at(address: str) -> str:
    """Publish the kind API server at address:PORT (a door already there at that address is kept)."""
    token, published = _state()
    entry = ours()
    if token is not None and (entry is None or token != entry.get("token")):
        raise WorkshopError(
            f"a container named {CONTAINER} exists that the workshop did not start: remove it yourself "
            f"(docker rm -f {CONTAINER}) if it is unused, then run scripts/class up again"
        )
    if token is not None and published == address:
        return f"https://{address}:{PORT}"
    close()
    if not engine.image_exists(PYTHON_IMAGE):
        raise WorkshopError(f"the class's door runs on {PYTHON_IMAGE}, which is not here: run scripts/prepare images")
    token = uuid.uuid4().hex
    ledger.record("container", CONTAINER, id=None, token=token, address=address)
    door = Run(
        PYTHON_IMAGE,
        ["python3", "-c", RELAY, CONTROL_PLANE],
        name=CONTAINER,
        labels={RUN_LABEL: token},
        network="kind",
        publish=[f"{address}:{PORT}:6443"],
        detach=True,
        restart="unless-stopped",
        user="65534:65534",
        read_only=True,
        drop_capabilities=True,
        no_new_privileges=True,
        memory="64m",
    )
    started = engine.run(door, check=False, timeout=60)
    if started.returncode != 0:
        close()
        why = host.last_line(started.stderr) or "?"
        raise WorkshopError(
            f"could not publish the cluster at {address}:{PORT} ({why[:160]}): is {address} an address "
            f"of this machine (`ip -4 addr`), and is port {PORT} free there?"
        )
    made = engine.container(CONTAINER)
    ident = made.id if made else ""
    ledger.record("container", CONTAINER, id=ident, token=token, address=address)
    return f"https://{address}:{PORT}"


def student_cluster(admin: Path, server: str | None) -> dict:
    """The cluster entry of a student's kubeconfig: the admin's, at `server` when the class has a door."""
    entry = dict(kubectl.cluster_entry(admin))
    if server:
        entry["server"] = server
        entry["tls-server-name"] = VERIFY_AS
    return entry


def answers(admin: Path, cluster: dict, timeout: float = 60) -> str | None:
    """None if the cluster answers as `cluster` with the admin's credentials, else why not (one line)."""
    data = yaml.safe_load(admin.read_text())
    with tempfile.TemporaryDirectory(prefix="workshop-door-") as scratch:
        probe = Path(scratch) / "kubeconfig"
        data["clusters"] = [{"name": c["name"], "cluster": cluster} for c in data["clusters"]]
        write_private(probe, yaml.safe_dump(data))  # it holds the admin's credentials
        deadline = time.monotonic() + timeout
        why = "no answer"
        while time.monotonic() < deadline:
            try:
                done = kubectl.run("get", "--raw", "/readyz", config=probe, context=None, check=False, timeout=20)
            except WorkshopError as error:
                why = str(error)
            else:
                if done.returncode == 0 and done.stdout.strip() == "ok":
                    return None
                why = (host.last_line(done.stderr) or host.last_line(done.stdout) or "no answer")[:160]
            time.sleep(1)
        return why
