"""The kubectl fence's flag list, derived from kubectl's own flag definitions.

The workshop shell gives kubectl only the workshop's kubeconfig through its environment; what an
argument can still change is where kubectl connects and who it claims to be. So every global flag
kubectl defines is refused in the workshop shell except the few in ALLOWED_GLOBAL, which change
neither: a flag a newer kubectl adds is refused until someone allows it here. pflag lets a boolean
shorthand run into the next one (`-As URL` is `-A -s URL`), so the shim also needs every shorthand
that is boolean in some command: it reads on through those and stops at a shorthand that takes a
value. `python -m workshop.cluster.kubectl_fence` writes scripts/shell-bin/kubectl-fence.txt from
the kubectl the workshop uses; a test checks the file against that kubectl again."""

import re
import sys
from typing import NamedTuple

from workshop.cluster import kubectl
from workshop.machine import host
from workshop.paths import ROOT

FENCE_FILE = ROOT / "scripts" / "shell-bin" / "kubectl-fence.txt"
ALLOWED_GLOBAL = {
    "namespace",
    "request-timeout",
    "v",
    "vmodule",
    "log-flush-frequency",
    "match-server-version",
    "warnings-as-errors",
    "disable-compression",
}
FLAG_LINE = re.compile(r"^\s+(?:-(?P<short>[A-Za-z0-9]), )?--(?P<name>[a-z0-9-]+)=(?P<default>.*):\s*$")
COMMAND_LINE = re.compile(r"^  (?P<name>[a-z][a-z0-9-]*)\s{2,}\S")


class Flag(NamedTuple):
    name: str
    short: str
    boolean: bool


def parse_flags(help_text: str) -> list[Flag]:
    """The flags a `kubectl ... --help` or `kubectl options` text lists."""
    found = []
    for line in help_text.splitlines():
        match = FLAG_LINE.match(line)
        if match:
            found.append(Flag(match["name"], match["short"] or "", match["default"] in ("false", "true")))
    return found


def subcommands(help_text: str) -> list[str]:
    """The commands a help text lists under its `... Commands:` headings (plugins are not kubectl's)."""
    names, inside = [], False
    for line in help_text.splitlines():
        if (
            line.rstrip().endswith("Commands:")
            or line.rstrip().endswith("Commands (Beginner):")
            or re.match(r"^[A-Z].*Commands.*:$", line)
        ):
            inside = True
            continue
        if not line.strip() or not line.startswith("  "):
            inside = inside and bool(line.strip() == "")
            continue
        match = COMMAND_LINE.match(line)
        if inside and match:
            names.append(match["name"])
    return names


def _help(program: str, *words: str) -> str:
    return host.run([program, *words, "--help"], timeout=30, check=False, what="kubectl --help").stdout


def command_flags(program: str) -> dict[str, list[Flag]]:
    """Every command's own flags, by command path ('rollout status'), walked from `kubectl --help`."""
    found: dict[str, list[Flag]] = {}
    waiting = [[name] for name in subcommands(_help(program)) if name not in ("help", "plugin")]
    while waiting:
        path = waiting.pop()
        text = _help(program, *path)
        found[" ".join(path)] = parse_flags(text)
        waiting += [path + [name] for name in subcommands(text) if name != "help"]
    return found


class Fence(NamedTuple):
    version: str
    refused_long: list[str]  # global flags that could change where kubectl connects or as whom
    refused_short: list[str]  # their one-letter spellings
    boolean_short: list[str]  # shorthands that are boolean in at least one command (pflag reads on)
    commands: list[str]  # kubectl's own top-level commands (the first of them in a line is its command)


def derive(program: str) -> Fence:
    version = kubectl.client_version() or "?"
    options = parse_flags(host.run([program, "options"], timeout=30, what="kubectl options").stdout)
    refused = [flag for flag in options if flag.name not in ALLOWED_GLOBAL]
    boolean: set[str] = {flag.short for flag in options if flag.boolean and flag.short}
    by_command = command_flags(program)
    for flags in by_command.values():
        boolean |= {flag.short for flag in flags if flag.boolean and flag.short}
    return Fence(
        version,
        sorted(flag.name for flag in refused),
        sorted(flag.short for flag in refused if flag.short),
        sorted(boolean),
        sorted(path for path in by_command if " " not in path),
    )


def render(fence: Fence) -> str:
    return (
        f"# Written by `python -m workshop.cluster.kubectl_fence` from kubectl {fence.version}'s own flag\n"
        f"# definitions (kubectl options, and every command's --help); scripts/shell-bin/kubectl reads it.\n"
        f"refused-long {' '.join(fence.refused_long)}\n"
        f"refused-short {' '.join(fence.refused_short)}\n"
        f"boolean-short {' '.join(fence.boolean_short)}\n"
        f"commands {' '.join(fence.commands)}\n"
    )


def read(text: str) -> dict[str, list[str]]:
    """The file's lists by name."""
    return {line.split()[0]: line.split()[1:] for line in text.splitlines() if line and not line.startswith("#")}


def main() -> int:
    FENCE_FILE.write_text(render(derive(kubectl.program())))
    print(f"wrote {FENCE_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
