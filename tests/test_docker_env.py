"""prepare's Docker part: the pure logic (apt sources, Dockerfile bases, prefix rewriting, step
runner, registry probe), then, against the real engine, what prepare leaves behind."""

import http.server
import io
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid

import pytest

from conftest import IN_CI, need
from provision import apt_sources, engine_install, prepare
from provision.standins import base_images, debian_rootfs, host_python
from workshop import ledger, versions
from workshop.cli import WorkshopError
from workshop.deck import docker_commands
from workshop.machine import app_images, docker_engine as engine, host, registry
from workshop.names import DEBIAN_IMAGE, KIND_NODE_BASE, PYTHON_IMAGE, REDIS_IMAGE
from workshop.paths import ROOT

# ---------------------------------------------------------------- apt sources

DEB822 = """\
# the main archive
Types: deb deb-src
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
"""

DEB822_DISABLED_FIRST = """\
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb-src
URIs: http://source-only.example/debian
Suites: bookworm
Components: main

Types: deb
URIs:
 http://first.example/debian
 http://second.example/debian
Suites: bookworm
Components: main
"""

ONE_LINE = """\
# deb http://commented.example/debian bookworm main
deb-src http://source.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://one.example/debian/ bookworm main non-free-firmware
deb http://one.example/debian-security bookworm-security main  # trailing comment
"""


def test_deb822_paragraphs_and_suites():
    sources = apt_sources.parse_deb822(DEB822)
    assert [s.uri for s in sources] == ["http://mirror.example/debian", "http://security.example/debian-security"]
    assert sources[0].suites == ["bookworm", "bookworm-updates"]
    assert sources[0].components == ["main", "contrib"]


def test_deb822_skips_disabled_and_source_only_and_reads_continued_uris():
    sources = apt_sources.parse_deb822(DEB822_DISABLED_FIRST)
    assert [s.uri for s in sources] == ["http://first.example/debian", "http://second.example/debian"]


def test_one_line_format_with_options_and_comments():
    sources = apt_sources.parse_one_line(ONE_LINE)
    assert [(s.uri, s.suites) for s in sources] == [
        ("http://one.example/debian/", ["bookworm"]),
        ("http://one.example/debian-security", ["bookworm-security"]),
    ]
    assert sources[0].components == ["main", "non-free-firmware"]


def _apt_dir(tmp_path, sources_list=None, files=None):
    (tmp_path / "sources.list.d").mkdir(parents=True)
    if sources_list is not None:
        (tmp_path / "sources.list").write_text(sources_list)
    for name, text in (files or {}).items():
        (tmp_path / "sources.list.d" / name).write_text(text)
    return tmp_path


def test_mirror_from_a_sources_file(tmp_path):
    apt = _apt_dir(tmp_path, files={"debian.sources": DEB822, "other.list.disabled": ONE_LINE})
    assert apt_sources.debian_mirror("bookworm", apt) == "http://mirror.example/debian"
    assert apt_sources.security_mirror("bookworm", apt) == "http://security.example/debian-security"


def test_mirror_from_a_classic_sources_list(tmp_path):
    apt = _apt_dir(tmp_path, sources_list=ONE_LINE)
    assert apt_sources.debian_mirror("bookworm", apt) == "http://one.example/debian"
    assert apt_sources.security_mirror("bookworm", apt) == "http://one.example/debian-security"


def test_sources_list_is_read_before_the_folder(tmp_path):
    apt = _apt_dir(tmp_path, sources_list=ONE_LINE, files={"debian.sources": DEB822})
    assert apt_sources.debian_mirror("bookworm", apt) == "http://one.example/debian"


def test_no_bookworm_source_is_a_one_line_error(tmp_path):
    apt = _apt_dir(tmp_path, sources_list="deb http://x.example/debian trixie main\n")
    with pytest.raises(WorkshopError) as error:
        apt_sources.debian_mirror("bookworm", apt)
    assert "\n" not in str(error.value) and "bookworm" in str(error.value)
    assert apt_sources.security_mirror("bookworm", apt) is None


def test_the_debian_archive_of_a_bookworm_host_serves_the_trixie_stand_in(tmp_path):
    apt = _apt_dir(tmp_path, sources_list=ONE_LINE)
    assert apt_sources.debian_archive(apt) == ("http://one.example/debian", "http://one.example/debian-security")
    apt = _apt_dir(tmp_path / "forky", sources_list="deb http://f.example/debian forky main\n")
    assert apt_sources.debian_archive(apt) == ("http://f.example/debian", None)
    apt = _apt_dir(tmp_path / "none", sources_list="deb http://x.example/ubuntu noble main\n")
    with pytest.raises(WorkshopError) as error:
        apt_sources.debian_archive(apt)
    assert "\n" not in str(error.value) and "no Debian archive" in str(error.value)


# ---------------------------------------------------------------- which base images


def test_dockerfile_bases_skips_stages_scratch_and_args():
    text = """\
ARG BASE=python:3.12-slim
FROM --platform=linux/amd64 python:3.12-slim AS build
RUN true
from build as test
FROM ${BASE}
FROM scratch
FROM debian:bookworm-slim
FROM python:3.12-slim
"""
    assert docker_commands.dockerfile_bases(text) == ["python:3.12-slim", "debian:bookworm-slim"]


def test_needed_images_adds_repository_bases_but_not_the_standins(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM alpine:3.20\n")
    (tmp_path / "app" / "web.Dockerfile").write_text(f"FROM {PYTHON_IMAGE}\n")
    (tmp_path / "provision" / "standins").mkdir(parents=True)  # the basement's own Dockerfiles
    (tmp_path / "provision" / "standins" / "x.Dockerfile").write_text("FROM should-not-count:1\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "Dockerfile").write_text("FROM nor-this:1\n")
    node_base = [KIND_NODE_BASE] if base_images.standins_allowed() else []
    assert base_images.needed_images(tmp_path) == [
        *base_images.BASE_IMAGES,
        *base_images.ALIASES,
        "alpine:3.20",
        *node_base,
    ]
    assert app_images.needed_images(tmp_path) == [*base_images.BASE_IMAGES, *base_images.ALIASES, "alpine:3.20"]


def test_every_alias_points_at_a_base_image():
    assert set(base_images.ALIASES.values()) <= set(base_images.BASE_IMAGES)


def test_recipe_hash_changes_with_its_inputs():
    # the same in another process (Python salts hash() per process; a recipe's hash must not be salted)
    elsewhere = subprocess.run(
        [
            sys.executable,
            "-c",
            "from provision.standins import base_images; print(base_images.recipe_hash('a', b'b'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "random"},
    )
    assert elsewhere.stdout.strip() == base_images.recipe_hash("a", b"b"), elsewhere.stderr
    assert base_images.recipe_hash("a", b"b") != base_images.recipe_hash("a", b"c")
    assert base_images.recipe_hash("ab") != base_images.recipe_hash("a", "b")


# ---------------------------------------------------------------- turning the host's Python into a stand-in


def test_rewrite_prefix_changes_text_files_only(tmp_path):
    old = "/root/.pyenv/versions/3.12.1"
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "pydoc3"
    script.write_text(f"#!{old}/bin/python3.12\nimport pydoc\n")
    elf = tmp_path / "bin" / "python3.12"
    elf.write_bytes(b"\x7fELF" + f"RUNPATH={old}/lib".encode() + b"\0rest")
    binary = tmp_path / "blob.dat"
    binary.write_bytes(old.encode() + b"\0\1")
    assert host_python.rewrite_prefix(tmp_path, old) == 1
    assert script.read_text().startswith("#!/usr/local/bin/python3.12\n")
    assert old.encode() in elf.read_bytes() and old.encode() in binary.read_bytes()


def test_copy_leaves_out_tests_site_packages_pip_and_static_libs(tmp_path):
    prefix = tmp_path / "3.12.9"
    stdlib = prefix / "lib" / "python3.12"
    for folder in ("test", "site-packages", "json", "idlelib/idle_test", "config-3.12-x86_64-linux-gnu"):
        (stdlib / folder).mkdir(parents=True)
    (stdlib / "json" / "__init__.py").write_text("")
    (stdlib / "config-3.12-x86_64-linux-gnu" / "libpython3.12.a").write_text("")
    (stdlib / "config-3.12-x86_64-linux-gnu" / "Makefile").write_text("")
    (prefix / "bin").mkdir()
    for name in ("python3.12", "pip3", "pip", "idle3", "pydoc3"):
        (prefix / "bin" / name).write_text("")
    (prefix / "share" / "man").mkdir(parents=True)
    copy = tmp_path / "copy"
    shutil.copytree(prefix, copy, ignore=host_python.copy_ignore(prefix))
    names = {p.relative_to(copy).as_posix() for p in copy.rglob("*")}
    assert "lib/python3.12/json/__init__.py" in names
    assert "lib/python3.12/config-3.12-x86_64-linux-gnu/Makefile" in names
    assert {"bin/python3.12", "bin/pydoc3"} <= names
    for gone in (
        "lib/python3.12/test",
        "lib/python3.12/site-packages",
        "bin/pip",
        "bin/pip3",
        "bin/idle3",
        "share",
        "lib/python3.12/idlelib/idle_test",
        "lib/python3.12/config-3.12-x86_64-linux-gnu/libpython3.12.a",
    ):
        assert gone not in names


def test_host_python_override(tmp_path, monkeypatch):
    prefix = tmp_path / "3.12.7"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "python3.12" / "ensurepip").mkdir(parents=True)
    exe = prefix / "bin" / "python3.12"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("WORKSHOP_STANDIN_PYTHON", str(prefix))
    assert host_python.find() == prefix


def test_trim_rootfs_writes_sources_and_drops_docs(tmp_path):
    for folder in ("etc/apt/apt.conf.d", "usr/share/doc/bash", "usr/share/man/man1", "var/lib/apt/lists/partial"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "etc/apt/sources.list").write_text("deb http://m.example/debian bookworm main\n")
    (tmp_path / "usr/share/doc/bash/copyright").write_text("GPL")
    (tmp_path / "usr/share/doc/bash/README").write_text("read me")
    (tmp_path / "usr/share/man/man1/bash.1.gz").write_text("")
    (tmp_path / "var/lib/apt/lists/m.example_Packages").write_text("")
    debian_rootfs.trim_rootfs(tmp_path, "http://m.example/debian", "http://s.example/debian-security")
    sources = (tmp_path / "etc/apt/sources.list.d/debian.sources").read_text()
    assert "URIs: http://m.example/debian\n" in sources
    assert "Suites: trixie trixie-updates\n" in sources and "Suites: trixie-security\n" in sources
    assert not (tmp_path / "etc/apt/sources.list").exists()
    assert (tmp_path / "usr/share/doc/bash/copyright").exists()
    assert not (tmp_path / "usr/share/doc/bash/README").exists()
    assert not (tmp_path / "usr/share/man/man1/bash.1.gz").exists()
    assert not (tmp_path / "var/lib/apt/lists/m.example_Packages").exists()
    assert (tmp_path / "var/lib/apt/lists/partial").is_dir()
    assert "path-exclude /usr/share/doc/*" in (tmp_path / "etc/dpkg/dpkg.cfg.d/docker").read_text()


def test_every_standin_recipe_file_is_used_and_the_readme_names_every_standin():
    """No recipe file is dead (each is named by the code that builds the stand-ins), and the README says
    what every stand-in is made from (KIND_NODE_BASE is built like debian:trixie-slim)."""
    folder = base_images.STANDINS
    code = "".join(path.read_text() for path in folder.glob("*.py"))
    recipes = sorted(p.name for p in folder.iterdir() if p.suffix in (".Dockerfile", ".sh", ".yml"))
    assert len(recipes) >= 2 and [name for name in recipes if f'"{name}"' not in code] == []
    readme = (folder / "README.md").read_text()
    assert [image for image in base_images.BASE_IMAGES if f"| `{image}`" not in readme] == []
    assert os.access(folder / "redis-entrypoint.sh", os.X_OK)


# ---------------------------------------------------------------- the engine step's decisions


def test_the_engine_answering_is_described_as_it_is(docker):
    found = engine.facts()
    assert found is not None and re.fullmatch(r"\d+\.\d+\.\d+\S*", found.version), found
    assert found.builder in ("BuildKit", "legacy") and found.image_store
    summary = engine_install.ensure_engine()  # an engine answers: nothing is installed or started
    assert summary.startswith(f"Docker {found.version} (client {found.client}), {found.builder} builder")


def test_in_ci_the_engine_is_the_current_stack_unless_asked_for_debian(docker):
    if not IN_CI:
        pytest.skip("which engine a developer runs is theirs to choose")
    found = engine.facts()
    assert found is not None, "the engine answers"
    if os.environ.get("WORKSHOP_ENGINE") == "debian":
        assert found.version.startswith("20.10") and found.builder == "legacy", found
    else:
        assert found.version.startswith(engine_install.engine_version()), found
        assert (found.client, found.builder, found.image_store) == (
            versions.docker_cli_version(),
            "BuildKit",
            "containerd",
        ), found


def test_a_killed_engines_container_networks_are_released_and_live_ones_kept(tmp_path):
    """A dockerd killed outright left 172.17.0.2's namespace mounted and its veth on docker0, so
    the next engine's registry at that address never answered (CI, 2026-12-01)."""
    need(host.is_linux_root(), "root on Linux", "run the tests as root to check namespace release")
    dead, live = tmp_path / "dead", tmp_path / "live"
    dead.touch()
    live.touch()
    subprocess.run(["unshare", f"--net={dead}", "true"], check=True)
    holder = subprocess.Popen(["unshare", f"--net={live}", "sleep", "120"])
    host_end = f"wsrel{uuid.uuid4().hex[:6]}"
    try:
        for _ in range(50):
            if subprocess.run(["findmnt", str(live)], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        pinner = subprocess.Popen(["nsenter", f"--net={dead}", "sleep", "120"])
        for _ in range(100):  # until it is in that namespace: before, its peer would land in ours, beside our eth0
            try:
                if os.readlink(f"/proc/{pinner.pid}/ns/net") != os.readlink("/proc/self/ns/net"):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        subprocess.run(
            ["ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", str(pinner.pid)],
            check=True,
        )
        pinner.kill()
        pinner.wait()
        assert subprocess.run(["ip", "link", "show", host_end], capture_output=True).returncode == 0
        said: list[str] = []
        assert engine_install.release_dead_sandboxes(said.append, where=tmp_path) == 1
        assert not dead.exists() and live.exists() and said
        # the dead namespace is freed, and the veth pair with it (the kernel frees a namespace in a work
        # queue of its own: seconds later on a busy machine)
        deadline = time.monotonic() + 20
        while subprocess.run(["ip", "link", "show", host_end], capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, f"{host_end} outlived its namespace by 20 s"
            time.sleep(0.1)
    finally:
        holder.kill()
        holder.wait()
        subprocess.run(["ip", "link", "delete", host_end], capture_output=True)
        for path in (dead, live):
            subprocess.run(["umount", str(path)], capture_output=True)


def test_engine_missing_without_root_says_how_to_start_it(tmp_path):
    # a client pointed at a socket where no engine listens, as a user without root sees it, in a checkout
    # that has recorded no engine yet (a recorded one would win over DOCKER_HOST: the fence)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from provision import engine_install\nfrom workshop.machine import host\nhost.is_linux_root = lambda: False\nengine_install.ensure_engine()",
        ],
        env={
            **os.environ,
            "DOCKER_HOST": f"unix://{tmp_path}/none.sock",
            "WORKSHOP_MACHINE_HOME": str(tmp_path),
            "WORKSHOP_STATE": str(tmp_path / "state"),
        },
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode != 0
    assert "no Docker engine answers" in done.stderr.splitlines()[-1]


def test_a_wrong_engine_kind_is_one_line(monkeypatch):
    monkeypatch.setenv("WORKSHOP_ENGINE", "podman")
    with pytest.raises(WorkshopError, match="WORKSHOP_ENGINE=podman: choose one of current, debian"):
        engine_install.wanted_kind()


def test_the_pinned_stack_is_complete_and_current():
    debs = {deb.package: deb for deb in engine_install.pinned_debs()}
    assert set(debs) == {"docker.io", "containerd", "docker-buildx", "kind"}
    assert "runc" not in debs  # forky's runc needs a newer glibc than bookworm's
    assert all(re.fullmatch(r"[0-9a-f]{64}", deb.sha256) and deb.size > 0 for deb in debs.values())
    major, minor = map(int, engine_install.engine_version().split(".")[:2])
    assert (major, minor) >= (28, 5) and versions.docker_cli_version().startswith("29.")
    mod = (engine_install.STACK / "cli" / "go.mod").read_text()
    assert f"require github.com/docker/cli v{versions.docker_cli_version()}+incompatible" in mod


def test_dockerd_config_uses_bookworms_runc_and_the_containerd_store(tmp_path):
    layout = engine_install.Layout(tmp_path)
    config = engine_install.daemon_config(layout)
    assert config["features"]["containerd-snapshotter"] is True
    assert config["runtimes"][config["default-runtime"]]["path"] == "/usr/sbin/runc"
    env = engine_install.dockerd_env(layout)
    assert env["PATH"].split(":")[:2] == [f"{layout.prefix}/usr/sbin", f"{layout.prefix}/usr/bin"]
    assert env["DOCKER_BUILDKIT_RUNC_COMMAND"] == "/usr/sbin/runc"


def test_a_corrupt_download_is_refused_with_one_line(tmp_path, monkeypatch):
    """A mirror that serves other bytes than the pinned ones (a real HTTP server on loopback)."""

    class Wrong(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"not the package")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Wrong)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("WORKSHOP_MACHINE_HOME", str(tmp_path))  # read at each call
    try:
        with pytest.raises(WorkshopError) as error:
            engine_install.fetch_debs(tmp_path / "prefix", mirror=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert "does not match its pinned sha256" in str(error.value) and "\n" not in str(error.value)
    assert not list((tmp_path / "debs").glob("*.deb"))


# ---------------------------------------------------------------- the step runner


def test_steps_print_one_line_each_and_stop_at_a_failure():
    calls = []

    def good(note):
        calls.append("good")
        note("working")
        return "fine"

    def bad(note):
        calls.append("bad")
        raise WorkshopError("it broke")

    def never(note):
        calls.append("never")
        return ""

    out = io.StringIO()
    steps = [prepare.Step("one", "first", good), prepare.Step("two", "second", bad), prepare.Step("three", "x", never)]
    with pytest.raises(WorkshopError) as error:
        prepare.run_steps(steps, out)
    assert calls == ["good", "bad"]
    assert str(error.value) == "two: it broke"
    lines = out.getvalue().splitlines()
    assert lines[0] == "..   one         working"
    assert lines[1].startswith("OK   one         fine (") and lines[1].endswith(" s)")
    assert lines[2].startswith("FAIL two         second (")


def test_steps_marked_beside_run_while_the_next_ones_do_and_a_joining_step_waits_for_them():
    """node-image and cluster run beside app-images and deck-images: here the beside step can end only
    once the step after it has started (so they overlap), and the joining step starts only after it."""
    import threading

    events: list[str] = []
    after_started = threading.Event()

    def first(note):
        events.append("first")
        return "ok"

    def beside(note):
        assert after_started.wait(10), "the step after a beside step did not start while it ran"
        time.sleep(0.2)
        events.append("beside done")
        return "ok"

    def after(note):
        after_started.set()
        events.append("after")
        return "ok"

    def joining(note):
        events.append("joining")
        return "ok"

    out = io.StringIO()
    steps = [
        prepare.Step("first", "a", first),
        prepare.Step("beside", "b", beside, beside=True),
        prepare.Step("after", "c", after),
        prepare.Step("joining", "d", joining, joins=True),
    ]
    prepare.run_steps(steps, out)
    assert events == ["first", "after", "beside done", "joining"]

    def broken(note):
        raise WorkshopError("no node image")

    steps[1] = prepare.Step("beside", "b", broken, beside=True)
    events.clear()
    with pytest.raises(WorkshopError, match="^beside: no node image$"):
        prepare.run_steps(steps, io.StringIO())
    assert "joining" not in events


def test_prepare_runs_each_step_after_what_it_needs_and_refuses_unknown_ones():
    order = [s.name for s in prepare.STEPS]
    needs = {  # step: the steps whose result it uses
        "images": ["engine"],
        "registry": ["images"],  # the registry runs the registry:2 image (or its stand-in)
        "app-images": ["images", "registry"],
        "deck-images": ["images", "registry"],  # a deck build pushes to the registry
        "node-image": ["images"],  # built on debian:bookworm-slim where it cannot be pulled
        "cluster": ["registry", "node-image"],
        "warm-up": ["cluster", "app-images"],
        "class-terminal": ["registry", "node-image"],  # kubectl comes from the node image
    }
    assert set(needs) | {"engine"} == set(order)
    assert [s.name for s in prepare.STEPS if not s.default] == ["class-terminal"]  # the teacher's, when named
    for step, before in needs.items():
        assert all(order.index(b) < order.index(step) for b in before), (step, order)
    with pytest.raises(WorkshopError, match="unknown step 'nonsense'; the steps are: " + ", ".join(order)):
        prepare.main(["nonsense"])


# ---------------------------------------------------------------- the registry probe and down()


class _FakeRegistry(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/v2/" else 404)
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_status_answers_only_for_a_registry(monkeypatch):
    server = http.server.HTTPServer(("127.0.0.1", 0), _FakeRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(registry, "PORT", server.server_address[1])
        assert registry.status()
    finally:
        server.shutdown()
        server.server_close()
    assert not registry.status(timeout=0.5)


def test_down_never_kills_a_process_it_did_not_start(tmp_path, monkeypatch):
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        pid_file = tmp_path / "registry.pid"
        pid_file.write_text(f"{stranger.pid}\n")
        monkeypatch.setenv("WORKSHOP_STATE", str(tmp_path))  # registry.pid_file() is read there now
        assert registry.pid_file() == pid_file
        monkeypatch.setattr(registry, "container_state", lambda: None)
        recorded = ledger.find("registry", registry.ADDRESS)
        assert registry.our_pid() is None
        assert registry.down() == "nothing of the workshop's was running"
        assert ledger.find("registry", registry.ADDRESS) == recorded  # nothing stopped, nothing forgotten
        assert stranger.poll() is None
        assert not pid_file.exists()
    finally:
        stranger.kill()
        stranger.wait()


# ---------------------------------------------------------------- against the real engine

PREPARE = str(ROOT / "scripts" / "prepare")


def _docker(*args, check=True, timeout=300):
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr.strip()[-500:]}"
    return done


def _image_id(ref):
    done = _docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


# prepare's Docker steps only: its cluster steps would leave a cluster running after the tests.
DOCKER_STEPS = ["engine", "images", "registry"]


def _run_prepare():
    done = subprocess.run([PREPARE, *DOCKER_STEPS], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"scripts/prepare failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def prepared(docker):
    """scripts/prepare has run (a second run here only checks, in seconds)."""
    return _run_prepare()


@pytest.mark.beside
@pytest.mark.slow
def test_base_images_exist_under_their_exact_tags(prepared):
    for ref in (*base_images.BASE_IMAGES, *base_images.ALIASES):
        assert _image_id(ref), f"{ref} is missing after prepare"
        label = _docker(
            "image", "inspect", "--format", '{{index .Config.Labels "edu.cs198.workshop"}}', ref
        ).stdout.strip()
        # either the real image (no label) or our stand-in
        assert label in ("", "<no value>", "standin")
    # every Debian-based one on the release its tag names: Debian 13
    for ref in (DEBIAN_IMAGE, PYTHON_IMAGE, REDIS_IMAGE):
        release = _docker("run", "--rm", "--entrypoint", "cat", ref, "/etc/os-release").stdout
        assert "VERSION_CODENAME=trixie" in release, f"{ref}: {release}"


@pytest.mark.beside
@pytest.mark.slow
def test_python_image_is_3_12_with_pip(prepared):
    out = _docker(
        "run", "--rm", PYTHON_IMAGE, "python3", "-c", "import sys, ssl, sqlite3; print('%d.%d' % sys.version_info[:2])"
    ).stdout.strip()
    assert out == "3.12"
    out = _docker(
        "run", "--rm", PYTHON_IMAGE, "sh", "-c", "for p in python3 python pip; do command -v $p; done; pip --version"
    ).stdout
    assert "/usr/local/bin/python3" in out and "/usr/local/bin/python\n" in out
    assert "(python 3.12)" in out


@pytest.mark.beside
@pytest.mark.slow
def test_pip_reaches_the_package_index_from_the_python_image(prepared):
    done = _docker(
        "run",
        "--rm",
        PYTHON_IMAGE,
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        "-d",
        "/tmp/wheels",
        "six==1.17.0",
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr.strip()[-400:]


@pytest.mark.beside
@pytest.mark.slow
def test_redis_image_serves_other_containers_as_a_non_root_user(prepared):
    name = f"workshop-selftest-redis-{uuid.uuid4().hex[:8]}"
    _docker("run", "-d", "--name", name, REDIS_IMAGE)
    try:
        ip = _docker("inspect", "--format", "{{.NetworkSettings.IPAddress}}", name).stdout.strip()
        answer = ""
        for _ in range(50):
            answer = _docker(
                "run", "--rm", "--entrypoint", "redis-cli", REDIS_IMAGE, "-h", ip, "ping", check=False
            ).stdout.strip()
            if answer == "PONG":
                break
            time.sleep(0.2)
        assert answer == "PONG"
        status = _docker("exec", name, "cat", "/proc/1/status").stdout
        uid = [line.split()[1] for line in status.splitlines() if line.startswith("Uid:")][0]
        assert uid != "0"
        version = _docker("exec", name, "redis-server", "--version").stdout
        # the real image runs the version its tag names; the stand-in runs Debian trixie's, which it labels
        tagged = REDIS_IMAGE.split(":")[1].split("-")[0]
        standin = (
            _docker(
                "image", "inspect", "--format", '{{index .Config.Labels "edu.cs198.workshop"}}', REDIS_IMAGE
            ).stdout.strip()
            == "standin"
        )
        assert (f"v={tagged.split('.')[0]}." if standin else f"v={tagged} ") in version, version
    finally:
        _docker("rm", "-f", name, check=False)


@pytest.mark.slow
def test_registry_answers_and_round_trips_an_image(prepared):
    assert registry.status(), "nothing answers GET http://127.0.0.1:5001/v2/"
    ref = "localhost:5001/workshop-selftest:1"
    _docker("tag", DEBIAN_IMAGE, ref)
    try:
        _docker("push", ref)
        _docker("rmi", ref)
        assert _image_id(ref) is None
        _docker("pull", ref)
        assert _image_id(ref) == _image_id(DEBIAN_IMAGE)
    finally:
        _docker("rmi", ref, check=False)


@pytest.mark.slow
def test_second_prepare_is_quick_and_rebuilds_nothing(prepared):
    before = {ref: _image_id(ref) for ref in base_images.BASE_IMAGES}
    started = time.monotonic()
    done = _run_prepare()
    took = time.monotonic() - started
    after = {ref: _image_id(ref) for ref in base_images.BASE_IMAGES}
    assert after == before
    assert "built" not in done.stdout and "pulled" not in done.stdout
    assert took < 60, f"a second prepare took {took:.0f} s"
    assert done.stdout.strip().splitlines()[-1].startswith("ready:")


# ---------------------------------------------------------------- stand-ins only where asked for


@pytest.mark.slow
def test_a_failed_pull_outside_ci_is_one_line_and_makes_no_standin(docker, monkeypatch, tmp_path):
    """On a user's machine (no CI, no --standins) an image that cannot be pulled is an error that says
    what to do; with --standins (or in CI) the stand-in is made. The image is another name of a base
    image whose registry is loopback port 1, where nothing answers, so the pull fails on every machine,
    one that reaches Docker Hub too; the engine's other images stay as they are."""
    from provision.standins import base_images
    from workshop.cli import WorkshopError
    from workshop.machine import docker_engine as engine

    target = next(iter(base_images.ALIASES.values()))
    unpullable = "localhost:1/workshop-no-such-image:1"
    monkeypatch.setitem(base_images.ALIASES, unpullable, target)
    state = tmp_path / "state"  # what the test makes is recorded here, not in the checkout's record
    state.mkdir()
    if engine.endpoint_file().exists():
        shutil.copy(engine.endpoint_file(), state / engine.endpoint_file().name)
    monkeypatch.setenv("WORKSHOP_STATE", str(state))
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(base_images.STANDINS_ENV, raising=False)
    log = tmp_path / "pull.log"
    try:
        with pytest.raises(WorkshopError) as error:
            base_images.ensure_image(unpullable, lambda _: None, log, {})
        assert "could not be pulled" in str(error.value) and "scripts/prepare --standins" in str(error.value)
        assert "\n" not in str(error.value)
        assert engine.image_id(unpullable) is None  # no stand-in under the name
        need(base_images.is_standin(target), f"the {target} stand-in (no registry reachable)", "scripts/prepare images")
        monkeypatch.setenv(base_images.STANDINS_ENV, "1")
        assert base_images.ensure_image(unpullable, lambda _: None, log, {}).startswith("stand-in tagged")
        assert engine.image_id(unpullable) == engine.image_id(target)
    finally:
        if engine.image_id(unpullable):
            engine.docker("rmi", unpullable)  # only the tag: the stand-in stays as the target


@pytest.mark.slow
def test_a_users_own_image_under_an_official_tag_is_never_replaced(docker, monkeypatch, tmp_path):
    """An image of the user's (no workshop label) under a tag the Dockerfiles name stays exactly as it
    is, whether or not pulls work and whether or not stand-ins are allowed."""
    import io
    import tarfile

    from provision.standins import base_images
    from workshop.machine import docker_engine as engine

    alias = next(iter(base_images.ALIASES))
    had = engine.image_id(alias)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("users-own.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"mine\n"))
    client = engine.client()
    assert client is not None
    imported = subprocess.run([client, "import", "-", alias], input=archive.getvalue(), capture_output=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    mine = engine.image_id(alias)
    try:
        for allowed in ("", "1"):
            monkeypatch.setenv(base_images.STANDINS_ENV, allowed)
            assert base_images.ensure_image(alias, lambda _: None, tmp_path / "pull.log", {}) == "present"
            assert engine.image_id(alias) == mine
    finally:
        engine.docker("rmi", alias, check=False)
        if had:
            engine.docker("tag", had, alias)


@pytest.mark.slow
def test_removing_a_container_takes_its_anonymous_volume_and_leaves_named_ones(docker):
    """The registry's image declares a volume for its storage: removing the container must remove that
    anonymous volume (each prepare and reset leaked one, 80 to 100 MiB of pushes, until this), while a
    named volume, the user's, stays even when the removed container had it mounted."""
    need(engine.image_exists(registry.IMAGE), f"the {registry.IMAGE} image", "run scripts/prepare registry")
    name = f"workshop-volume-test-{uuid.uuid4().hex[:8]}"
    mine = f"users-own-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "volume", "create", mine], check=True, capture_output=True)
    try:
        subprocess.run(
            ["docker", "run", "-d", "--name", name, "-v", f"{mine}:/mine", registry.IMAGE],
            check=True,
            capture_output=True,
            timeout=60,
        )
        mounts = subprocess.run(
            ["docker", "inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Name}}\n{{end}}", name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        anonymous = [mounts[i + 1] for i in range(0, len(mounts), 2) if mounts[i + 1] != mine]
        assert len(anonymous) == 1, mounts
        engine.remove_container(name)
        left = set(subprocess.run(["docker", "volume", "ls", "-q"], capture_output=True, text=True).stdout.split())
        assert anonymous[0] not in left, "the container's anonymous volume outlived it"
        assert mine in left, "a named volume was removed with the container"
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True)
        subprocess.run(["docker", "volume", "rm", mine], capture_output=True)


def test_a_rootfs_under_way_is_waited_for_then_used(tmp_path, monkeypatch):
    """CI makes the stand-ins' root filesystems beside other phases: prepare's images step, asking for the
    same tar meanwhile, waits for that debootstrap (a lock) and then takes its tar instead of making another."""
    import fcntl
    import threading

    monkeypatch.setenv("WORKSHOP_STATE", str(tmp_path))
    cache = debian_rootfs.cache_dir()
    cache.mkdir(parents=True)
    got: list = []
    with open(cache / "debian-trixie.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a debootstrap under way
        waiter = threading.Thread(target=lambda: got.append(debian_rootfs.rootfs_tar(print, tmp_path / "log", "r1")))
        waiter.start()
        time.sleep(0.5)
        assert not got, "it did not wait for the debootstrap under way"
        (cache / "debian-trixie-minbase-r1.tar").write_bytes(b"made meanwhile")
    waiter.join(10)
    assert got == [cache / "debian-trixie-minbase-r1.tar"]
