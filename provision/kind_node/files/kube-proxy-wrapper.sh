#!/bin/sh
# /usr/local/bin/kube-proxy in workshop-kind/kube-proxy. Debian's iptables ships two
# backends (nf_tables and legacy) and kube-proxy must write its rules with the same
# one as kubelet and the node, or the two sets of rules never meet. kubelet leaves a
# KUBE-IPTABLES-HINT chain in the mangle table of the backend it uses: look for it
# (kube-proxy shares the node's network namespace), else count rules, then switch
# this image's alternatives and run the real binary.
set -u
mode=""
tries=0
while [ -z "$mode" ] && [ "$tries" -lt 10 ]; do
    if iptables-nft-save -t mangle 2>/dev/null | grep -q '^:KUBE-IPTABLES-HINT'; then
        mode=nft
    elif iptables-legacy-save -t mangle 2>/dev/null | grep -q '^:KUBE-IPTABLES-HINT'; then
        mode=legacy
    else
        tries=$((tries + 1))
        sleep 1
    fi
done
if [ -z "$mode" ]; then
    nft_rules=$(iptables-nft-save 2>/dev/null | grep -c '^-' || true)
    legacy_rules=$(iptables-legacy-save 2>/dev/null | grep -c '^-' || true)
    if [ "${legacy_rules:-0}" -gt "${nft_rules:-0}" ]; then mode=legacy; else mode=nft; fi
fi
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null
echo "kube-proxy wrapper: iptables backend $mode" >&2
exec /usr/local/lib/kube-proxy/kube-proxy "$@"
