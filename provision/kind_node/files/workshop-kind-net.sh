#!/bin/sh
# workshop-kind-net: the pod network of a workshop-kind cluster, one pod per node
# (hostNetwork + hostPID, privileged). kind's own kindnetd cannot be fetched here;
# this does the part of its job a workshop cluster needs, with stock CNI plugins:
#   - writes /etc/cni/net.d/10-workshop-kind.conflist: ptp + host-local on the node's
#     podCIDR (as soon as it is written, kubelet reports the node Ready);
#   - on the node, routes every other node's podCIDR via that node's InternalIP
#     (all kind nodes share one Docker network, so plain routes suffice) and
#     removes the routes of nodes that are gone;
#   - masquerades traffic from pods to anything outside the pod subnet.
# Environment: NODE_NAME, POD_SUBNET; CONTROL_PLANE_ENDPOINT (host:port, added by
# kind) lets it reach the API server without kube-proxy; SYNC_SECONDS (default 5;
# 1 s until this node's podCIDR is known).
set -u
: "${NODE_NAME:?NODE_NAME is not set}" "${POD_SUBNET:?POD_SUBNET is not set}"
conf_dir=${CNI_CONF_DIR:-/etc/cni/net.d}
conf="$conf_dir/10-workshop-kind.conflist"
interval=${SYNC_SECONDS:-5}
route_proto=197   # marks the routes this agent owns
# kubectl's in-cluster config reads the API address from these two variables
# (a --server flag would drop the in-cluster token and CA instead).
if [ -n "${CONTROL_PLANE_ENDPOINT:-}" ]; then
    export KUBERNETES_SERVICE_HOST="${CONTROL_PLANE_ENDPOINT%:*}" KUBERNETES_SERVICE_PORT="${CONTROL_PLANE_ENDPOINT##*:}"
fi

log() { echo "$(date -u +%H:%M:%S) workshop-kind-net: $*"; }
# ip and iptables of the node itself (its binaries, its iptables backend)
on_node() { nsenter --target 1 --mount --net -- "$@"; }

write_conf() {
    tmp="$conf_dir/.10-workshop-kind.conflist.tmp"
    cat >"$tmp" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "workshop-kind",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "ranges": [[{ "subnet": "$1" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
    if cmp -s "$tmp" "$conf"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$conf"
        log "wrote $conf for podCIDR $1"
    fi
}

ensure_masquerade() {
    rule="-s $POD_SUBNET ! -d $POD_SUBNET -m comment --comment workshop-kind-net -j MASQUERADE"
    # shellcheck disable=SC2086
    on_node iptables -t nat -C POSTROUTING $rule 2>/dev/null || {
        on_node iptables -t nat -A POSTROUTING $rule && log "masquerading $POD_SUBNET to the outside"
    }
}

sync_once() {
    nodes=$(kubectl get nodes -o \
        jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.podCIDR}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}') || return 1
    wanted=""
    while read -r name cidr address; do
        [ -n "$name" ] && [ -n "$cidr" ] || continue
        if [ "$name" = "$NODE_NAME" ]; then
            write_conf "$cidr"
        elif [ -n "$address" ]; then
            wanted="$wanted $cidr"
            current=$(on_node ip -4 route show "$cidr" proto "$route_proto")
            case "$current" in
                *"via $address "*) ;;
                *) on_node ip -4 route replace "$cidr" via "$address" proto "$route_proto" \
                       && log "route $cidr via $address ($name)" ;;
            esac
        fi
    done <<LIST
$nodes
LIST
    on_node ip -4 route show proto "$route_proto" | while read -r dst _; do
        case " $wanted " in
            *" $dst "*) ;;
            *) on_node ip -4 route del "$dst" proto "$route_proto" && log "removed route $dst" ;;
        esac
    done
    ensure_masquerade
}

trap 'log "stopping"; exit 0' TERM INT
log "node $NODE_NAME, pod subnet $POD_SUBNET, API ${CONTROL_PLANE_ENDPOINT:-in-cluster}"
while :; do
    sync_once || log "could not list nodes yet; retrying"
    # every second until this node has its CNI config (the node is NotReady until then)
    if [ -f "$conf" ]; then pause=$interval; else pause=1; fi
    sleep "$pause" &
    wait $!
done
