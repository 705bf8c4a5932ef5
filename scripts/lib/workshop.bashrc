# Read by scripts/workshop-shell instead of ~/.bashrc, so every box looks the same on every machine.
WORKSHOP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$WORKSHOP_ROOT" || return
export WORKSHOP_ROOT
source "$WORKSHOP_ROOT/scripts/lib/engine-env.sh"
workshop_venv="${WORKSHOP_VENV:-$WORKSHOP_ROOT/.venv}"
[ -d "$workshop_venv/bin" ] && PATH="$workshop_venv/bin:$PATH"
unset workshop_venv
PATH="$WORKSHOP_ROOT/scripts/shell-bin:$PATH"
export PATH
# The environment is the fence. kubectl sees only a read-only copy of the workshop's kubeconfig
# (never ~/.kube/config) and no kuberc; docker talks only to the engine the workshop recorded
# (engine-env.sh). The variables that would point either elsewhere are read-only in this shell, so
# `KUBECONFIG=... kubectl` or `DOCKER_HOST=... docker` is an error here, not a trip to another
# cluster or engine. See shell-bin/kubectl for the arguments it refuses.
workshop_state="${WORKSHOP_STATE:-$WORKSHOP_ROOT/.workshop}"
if [ -s "$workshop_state/kubeconfig" ]; then
    ( umask 077 && cp "$workshop_state/kubeconfig" "$workshop_state/kubeconfig.fenced.$$" \
        && chmod 0400 "$workshop_state/kubeconfig.fenced.$$" \
        && mv -f "$workshop_state/kubeconfig.fenced.$$" "$workshop_state/kubeconfig.fenced" )
fi
unset WORKSHOP_KUBECONFIG KUBERC KUBECACHEDIR DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_TLS BUILDKIT_HOST
declare -rx WORKSHOP_STATE="$workshop_state" KUBECONFIG="$workshop_state/kubeconfig.fenced" KUBECTL_KUBERC=false
readonly WORKSHOP_KUBECONFIG KUBERC KUBECACHEDIR DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_TLS BUILDKIT_HOST
[ -n "${DOCKER_HOST:-}" ] && readonly DOCKER_HOST
unset workshop_state
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
