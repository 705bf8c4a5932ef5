# Read by scripts/workshop-shell instead of ~/.bashrc, so every box looks the same on every machine.
WORKSHOP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$WORKSHOP_ROOT" || return
export WORKSHOP_ROOT
source "$WORKSHOP_ROOT/scripts/lib/engine-env.sh"
[ -d "$WORKSHOP_ROOT/.venv/bin" ] && PATH="$WORKSHOP_ROOT/.venv/bin:$PATH"
PATH="$WORKSHOP_ROOT/scripts/shell-bin:$PATH"
export PATH
# kubectl only ever sees the workshop's own kubeconfig (never ~/.kube/config); see shell-bin/kubectl.
export WORKSHOP_KUBECONFIG="${WORKSHOP_KUBECONFIG:-${WORKSHOP_STATE:-$WORKSHOP_ROOT/.workshop}/kubeconfig}"
export KUBECONFIG="$WORKSHOP_KUBECONFIG"
unset HISTFILE                 # keep the lecture out of the user's shell history
PS1='workshop$ '
PS2='> '
# Rehearsal asks for each command's exit status through a file, so nothing extra is shown on screen.
if [ -n "${WORKSHOP_STATUS_FILE:-}" ]; then
    PROMPT_COMMAND='echo $? > "$WORKSHOP_STATUS_FILE"'
else
    unset PROMPT_COMMAND
fi
# A docker command that fails because no engine answers says what to do (the class sees this line).
docker() {
    command docker "$@"
    local status=$?
    if [ "$status" -ne 0 ] && ! command docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        echo "workshop: the Docker engine is not answering: run scripts/prepare engine (or start Docker Desktop), then run the box again." >&2
    fi
    return "$status"
}
