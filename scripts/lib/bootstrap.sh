# Sourced by the entry points in scripts/: finds the repository and keeps the
# project's virtualenv (.venv) in step with the pinned lists in requirements/.
WORKSHOP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORKSHOP_VENV="${WORKSHOP_VENV:-$WORKSHOP_ROOT/.venv}"
# The entry points run `python -m workshop.commands.<command>` from wherever the user stands.
export PYTHONPATH="$WORKSHOP_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export WORKSHOP_ROOT WORKSHOP_VENV
source "$WORKSHOP_ROOT/scripts/lib/engine-env.sh"

die() { printf 'workshop: %s\n' "$*" >&2; exit 2; }

find_python() {
    local candidate
    for candidate in "${WORKSHOP_PYTHON:-}" python3.14 python3.13 python3.12 python3.11 python3.10 python3; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    return 1
}

# ensure_venv LIST...: install each pinned list once; later runs only compare a checksum.
ensure_venv() {
    local list name stamp want python
    for list in "$@"; do
        name="$(basename "$list" .txt)"
        stamp="$WORKSHOP_VENV/.installed-$name"
        # the list and the lists it includes (-r FILE), so a change to either installs again
        local line included=()
        while IFS= read -r line; do
            [[ "$line" =~ ^-r[[:space:]]*([^[:space:]]+) ]] && included+=("${BASH_REMATCH[1]}")
        done < "$WORKSHOP_ROOT/requirements/$name.txt"
        want="$(cd "$WORKSHOP_ROOT/requirements" && cat "$name.txt" ${included[@]+"${included[@]}"} | cksum)"
        [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$WORKSHOP_VENV/bin/python" ] && continue
        if [ ! -x "$WORKSHOP_VENV/bin/python" ]; then
            python="$(find_python)" || die "Python 3.10 or newer with venv is needed: install python3 and python3-venv (apt) or python@3.12 (brew), then run this again."
            echo "workshop: first run, creating $WORKSHOP_VENV (about 30 s, once)..." >&2
            "$python" -m venv "$WORKSHOP_VENV" || die "could not create $WORKSHOP_VENV: install python3-venv (apt install python3-venv) and run this again."
        fi
        if [ "$name" = dev ] && ! "$WORKSHOP_VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
            die "the tests need Python 3.11 or newer (requirements/dev.txt pins packages that dropped 3.10); presenting works on 3.10: make $WORKSHOP_VENV with a newer Python (WORKSHOP_PYTHON=python3.12) to run them."
        fi
        echo "workshop: installing the pinned packages of requirements/$name.txt..." >&2
        "$WORKSHOP_VENV/bin/python" -m pip install --disable-pip-version-check --quiet --no-deps --require-hashes \
            -r "$WORKSHOP_ROOT/requirements/$name.txt" \
            || die "pip could not install requirements/$name.txt (see above); check your network or proxy and run this again."
        echo "$want" > "$stamp"
    done
}

# exec_checked "IMPORT..." MODULE ARGS...: python -m MODULE ARGS in this process's place, once the imports
# succeed in that same Python (no second interpreter start, as the deck's start is timed), or one line
# says how to rebuild the virtualenv.
exec_checked() {
    local imports="$1" module="$2"
    shift 2
    exec "$WORKSHOP_VENV/bin/python" -c '
import os, runpy, sys
try:
    for name in sys.argv[1].split():
        __import__(name)
except ImportError as error:
    venv = os.environ["WORKSHOP_VENV"]
    print(f"workshop: the virtualenv {venv} is broken ({error.name} does not import): remove it (rm -rf {venv}) "
          "and run this again; it is rebuilt in about 30 s.", file=sys.stderr)
    sys.exit(2)
module = sys.argv[2]
sys.argv = [module] + sys.argv[3:]
runpy.run_module(module, run_name="__main__", alter_sys=True)
' "$imports" "$module" "$@"
}
