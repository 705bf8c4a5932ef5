#!/bin/sh
# Entry point of the redis stand-in, doing what the official image's does: `-x` or `x.conf`
# arguments go to redis-server, which runs as the redis user and, like the official build,
# with protected mode off so other containers and pods can reach it (options given later win).
set -e
case "${1:-}" in
    -*|*.conf) set -- redis-server "$@" ;;
esac
if [ "${1:-}" = redis-server ]; then
    shift
    case "${1:-}" in
        *.conf) conf="$1"; shift; set -- redis-server "$conf" --protected-mode no "$@" ;;
        *) set -- redis-server --protected-mode no "$@" ;;
    esac
    if [ "$(id -u)" = 0 ]; then
        find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
        exec setpriv --reuid=redis --regid=redis --init-groups "$@"
    fi
fi
exec "$@"
