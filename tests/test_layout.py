"""The package's shape, as the README's layout section describes it: a few modules at the root,
one folder per concern, short modules, no import circles, lower floors never importing higher
ones, and every external program run through the one runner. The basement that builds machines
(provision/) sits above every floor of the lecture's package: it uses the lecture's code, which
never imports it."""

import ast
import re
from pathlib import Path

from workshop.paths import ROOT

PACKAGE = ROOT / "workshop"
BASEMENT = ROOT / "provision"
# Who may import whom: a module imports only from its own floor or lower ones.
FLOORS = {
    "workshop": 0,
    "workshop.cli": 0,
    "workshop.paths": 0,
    "workshop.names": 0,
    "workshop.versions": 0,
    "workshop.deck": 1,
    "workshop.machine": 2,
    "workshop.cluster": 3,
    "workshop.rehearsal": 4,
    "workshop.presenter": 4,
    "workshop.export": 4,
    "workshop.classweb": 4,
    "workshop.commands": 5,
    "provision": 6,
}
# The one runner of programs, the one supervisor of processes and the one pseudo-terminal driver;
# bench_bounds times scripts/present in a terminal of its own, and serves the class it measures; the class
# terminal bridges a browser to `kubectl exec` on a pseudo-terminal of its own.
MAY_SPAWN = {
    "workshop/machine/host.py",
    "workshop/machine/processes.py",
    "workshop/rehearsal/terminal.py",
    "workshop/commands/bench_bounds.py",
    "workshop/commands/bench_class.py",
    "workshop/classweb/terminal.py",
}
SPAWN = re.compile(
    r"\b(subprocess\.(run|Popen|call|check_call|check_output)|os\.system|os\.popen|"
    r"PtyProcess\.spawn|pexpect\.spawn|pty\.fork)\("
)


def sources() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *BASEMENT.rglob("*.py")])


def modules() -> dict[str, Path]:
    found = {}
    for path in sources():
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def floor(module: str) -> int:
    for prefix, level in sorted(FLOORS.items(), key=lambda item: -len(item[0])):
        if module == prefix or module.startswith(prefix + "."):
            return level
    raise AssertionError(f"{module} is in no floor of FLOORS: add its folder there")


def imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The workshop modules this module imports (at any depth in the file)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    found.discard(module)
    return found


def test_few_modules_at_the_root_and_none_too_long():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 6, root
    # 450 lines as `ruff format` lays them out (it spreads a long call over several lines; 400 before it)
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 450}
    assert not long, long


def test_every_folder_is_a_floor_and_no_floor_imports_a_higher_one():
    known = modules()
    wrong = []
    for module, path in known.items():
        for target in imports(module, path, set(known)):
            if floor(target) > floor(module) and not target.startswith(module + "."):
                wrong.append(f"{module} (floor {floor(module)}) imports {target} (floor {floor(target)})")
    assert not wrong, "\n".join(wrong)


def test_the_lecture_imports_nothing_of_the_basement():
    """workshop/ asks whether what it needs is there and names the command that makes it; it never
    imports provision/ (bench runs `python -m provision.node_image` as a program)."""
    known = modules()
    wrong = [
        f"{module} imports {target}"
        for module, path in known.items()
        if module.startswith("workshop")
        for target in imports(module, path, set(known))
        if target.startswith("provision")
    ]
    assert not wrong, "\n".join(wrong)
    assert any(module.startswith("provision") for module in known) and floor("provision.node_image") > floor(
        "workshop.commands.reset"
    )


def test_no_import_circles():
    known = modules()
    graph = {
        module: {t for t in imports(module, path, set(known)) if not t.startswith(module + ".")}
        for module, path in known.items()
    }
    state: dict[str, int] = {}
    circles = []

    def visit(module, trail):
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append(
                    " -> ".join(trail[trail.index(target) :] + [target]) if target in trail else f"{module} -> {target}"
                )
            elif target not in state:
                visit(target, trail + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "\n".join(circles)


def test_programs_are_started_only_through_the_one_runner():
    offenders = []
    for path in sources():
        relative = str(path.relative_to(ROOT))
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SPAWN.search(line) and relative not in MAY_SPAWN:
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_the_layout_checks_can_fail(tmp_path):
    # a module that imports upward and one that spawns on its own are both caught
    bad = tmp_path / "bad.py"
    bad.write_text("import subprocess\nfrom workshop.commands import doctor\nsubprocess.run(['true'])\n")
    assert "workshop.commands.doctor" in imports("workshop.deck.bad", bad, set(modules()))
    assert floor("workshop.commands.doctor") > floor("workshop.deck.bad")
    assert SPAWN.search(bad.read_text().splitlines()[2])


AT_IMPORT = re.compile(r"os\.environ|os\.getenv|\b(state|kubeconfig|logs|machine_home|namespace)\(\)")


def read_at_import(text: str) -> list[int]:
    """Lines of module-level statements (not definitions or imports) that read the environment or a state
    path: such a value is frozen when the module is imported, and a later WORKSHOP_* is not obeyed."""
    found = []
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            continue
        if AT_IMPORT.search(ast.get_source_segment(text, node) or ""):
            found.append(node.lineno)
    return found


def test_no_setting_or_state_path_is_read_at_import():
    frozen = [f"{path.relative_to(ROOT)}:{line}" for path in sources() for line in read_at_import(path.read_text())]
    assert not frozen, frozen
    assert read_at_import('import os\nHOME = os.environ.get("X")\ndef f():\n    return os.environ\n') == [2]
    assert read_at_import("from workshop.paths import state\nLOG = state() / 'x'\n") == [2]


DOCKER_ARGV = re.compile(r"""\[\s*(?:engine\.client\(\)\s*or\s*)?["']docker["']\s*,""")


def test_only_the_docker_engine_writes_docker_command_lines():
    """Everything the workshop asks of the engine goes through engines.Engine (engine.ENGINE): only
    docker_engine.py, its implementation, imports itself into the runtime or spells a docker argv."""
    known = modules()
    wrong = [
        f"{module} imports workshop.machine.docker_engine"
        for module, path in known.items()
        if module not in ("workshop.machine.engine", "workshop.machine.docker_engine")
        and "workshop.machine.docker_engine" in imports(module, path, set(known))
    ]
    wrong += [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources()
        if path.name != "docker_engine.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if DOCKER_ARGV.search(line)
    ]
    assert not wrong, "\n".join(wrong)
    assert DOCKER_ARGV.search('host.run(["docker", "rm", name])') and not DOCKER_ARGV.search('if x[:1] == ["docker"]:')
