# Sourced by bootstrap.sh and workshop.bashrc: when the workshop installed and started a Docker
# engine itself (scripts/prepare engine, as root on Linux), engine.env names the docker client to
# use with it (and its CLI config). A machine whose own Docker answers has no such file.
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
unset workshop_engine_env
