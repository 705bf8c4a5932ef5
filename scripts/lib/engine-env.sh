# Sourced by bootstrap.sh and workshop.bashrc. Two things about the Docker engine the workshop uses:
# - when the workshop installed and started an engine itself (scripts/prepare engine, as root on
#   Linux), engine.env names the docker client to use with it (and its CLI config); a machine whose
#   own Docker answers has no such file;
# - the engine's endpoint, recorded by the first prepare that found or started it
#   (.workshop/engine-endpoint): every script and box talks to that one, whatever DOCKER_HOST or
#   DOCKER_CONTEXT the shell that started it holds.
workshop_engine_env="${WORKSHOP_MACHINE_HOME:-/var/lib/cs198-workshop}/engine.env"
if [ -r "$workshop_engine_env" ]; then
    while IFS='=' read -r key value; do
        case "$key" in
            WORKSHOP_DOCKER_BIN) case ":$PATH:" in *":$value:"*) ;; *) PATH="$value:$PATH" ;; esac ;;
            DOCKER_CONFIG) export DOCKER_CONFIG="$value" ;;
        esac
    done < "$workshop_engine_env"
    export PATH
fi
workshop_endpoint="${WORKSHOP_STATE:-$WORKSHOP_ROOT/.workshop}/engine-endpoint"
if [ -r "$workshop_endpoint" ]; then
    while IFS='=' read -r key value; do
        [ "$key" = DOCKER_HOST ] && [ -n "$value" ] && { export DOCKER_HOST="$value"; unset DOCKER_CONTEXT; }
    done < "$workshop_endpoint"
fi
unset workshop_engine_env workshop_endpoint
