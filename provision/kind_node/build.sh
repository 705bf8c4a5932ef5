#!/usr/bin/env bash
# build.sh: builds a kind node image for Kubernetes $KUBE_VERSION (versions.env at the top of the
# checkout) on a machine that cannot pull any container image. Inputs: the workshop's Docker engine
# (BuildKit, containerd store), its local debian:bookworm-slim, the Debian mirror, the Go module
# proxy, the Kubernetes programs provision/node_build.py built (K8S_BIN: kubeadm, kube-*,
# kubelet, kubectl, coredns, pause) and forky's containerd 2.1.9 binaries. Outputs (all labelled
# edu.cs198.workshop=kind-node):
#   workshop-kind/base:$BASE_TAG    Debian bookworm + systemd + containerd + runc + CNI + crictl
#   workshop-kind/<component>:<tag> the images kubeadm and the add-on manifests run (a tag that
#                               two Kubernetes versions would share ends in -$KUBE_VERSION)
#   workshop-kind/node:$NODE_TAG    the node image for `kind create cluster --image`
#
# usage: ./build.sh [--no-cache]      (times: work/build-times.txt)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"

# The caller (provision/node_image.py) names where things are: the containerd 2.1.9 binaries of
# the workshop's Docker stack, the repository, the built Kubernetes programs and a work folder.
export PATH=/usr/local/go/bin:$PATH
ENGINE_BIN=${ENGINE_BIN:?the folder holding containerd, ctr and containerd-shim-runc-v2 2.1.9}
WORKSHOP=${WORKSHOP_ROOT:?the repository}
K8S_BIN=${K8S_BIN:?the folder of the built Kubernetes programs}
PYTHON=${WORKSHOP_PYTHON:?the Python of the workshop, which builds the Go programs (node_build.py)}
DEBIAN_IMAGE=${NODE_BASE_IMAGE:?the Debian bookworm image to build on (names.KIND_NODE_BASE)}

WORK=${KIND_NODE_WORK:?a work folder for the build}
BIN=$WORK/bin/$KUBE_VERSION   # one folder per Kubernetes version
LOG=$WORK/build.log
TIMES=$WORK/build-times.txt
NO_CACHE=()
[[ "${1:-}" == "--no-cache" ]] && NO_CACHE=(--no-cache)

mkdir -p "$WORK" "$BIN"
: >"$LOG"
say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }
die() { say "ERROR: $*"; exit 1; }
step_start=0
step() { step_start=$(date +%s.%N); say "== $*"; }
step_done() { printf '%-28s %6.1f s\n' "$1" "$(echo "$(date +%s.%N) - $step_start" | bc)" >>"$TIMES"; }
total_start=$(date +%s.%N)
printf -- '--- %s %s\n' "$(date -u +%FT%TZ)" "${NO_CACHE[*]:-}" >>"$TIMES"

for tool in docker go bc python3 patch; do command -v "$tool" >/dev/null || die "$tool not on PATH"; done
docker info >/dev/null 2>&1 || die "the Docker engine does not answer"
docker image inspect "$DEBIAN_IMAGE" >/dev/null 2>&1 || die "$DEBIAN_IMAGE is not in the engine"
for f in kubeadm kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl coredns pause; do
    [[ -x "$K8S_BIN/$f" ]] || die "$K8S_BIN/$f is missing (provision/node_build.py builds it)"
done

# ---------------------------------------------------------------------------------
# 1. Go programs the workshop's k8s-bin does not hold: kubeadm (unless k8s-bin has it),
#    etcd, crictl, local-path-provisioner. A stamp per program (digest of its module
#    files + flags) skips a rebuild. Every Kubernetes binary must really be $KUBE_VERSION:
#    the -X version flags alone prove nothing, so `go version -m` is checked too.
export GOTOOLCHAIN=local  # go get and go mod download below use the Go here, never fetch another
go_build() { # name module_dir package [-X flags]: built and stamped as node_build.py builds its own
    PYTHONPATH=$WORKSHOP "$PYTHON" -m provision.node_build "$1" "$2" "$3" "$BIN" "$LOG" "${4:-}" \
        || die "go build of $1 failed (see $LOG)"
}
kube_module_version() { # the k8s.io/kubernetes module a binary was built from
    go version -m "$1" 2>/dev/null | awk '($1 == "mod" || $1 == "dep") && $2 == "k8s.io/kubernetes" {print $3; exit}'
}
step "Go programs"
for f in kubeadm kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl; do
    [[ "$(kube_module_version "$K8S_BIN/$f")" == "$KUBE_VERSION" ]] \
        || die "$K8S_BIN/$f is built from k8s.io/kubernetes $(kube_module_version "$K8S_BIN/$f"), not $KUBE_VERSION"
done
cmp -s "$K8S_BIN/kubeadm" "$BIN/kubeadm" || cp "$K8S_BIN/kubeadm" "$BIN/kubeadm"
[[ "$(kube_module_version "$BIN/kubeadm")" == "$KUBE_VERSION" && "$("$BIN/kubeadm" version -o short)" == "$KUBE_VERSION" ]] \
    || die "$BIN/kubeadm is not $KUBE_VERSION"

# The images this kubeadm asks for decide the etcd, CoreDNS and pause tags.
mapfile -t KUBEADM_IMAGES < <("$BIN/kubeadm" config images list --kubernetes-version "$KUBE_VERSION")
tag_of() { printf '%s\n' "${KUBEADM_IMAGES[@]}" | sed -n "s#^registry.k8s.io/$1:##p"; }
ETCD_IMAGE_TAG=$(tag_of etcd); COREDNS_IMAGE_TAG=$(tag_of coredns/coredns); KUBEADM_PAUSE_TAG=$(tag_of pause)
[[ -n $ETCD_IMAGE_TAG && -n $COREDNS_IMAGE_TAG && -n $KUBEADM_PAUSE_TAG ]] || die "unexpected image list: ${KUBEADM_IMAGES[*]}"
ETCD_VERSION=v${ETCD_IMAGE_TAG%-*}
say "kubeadm $KUBE_VERSION wants etcd $ETCD_IMAGE_TAG, coredns $COREDNS_IMAGE_TAG, pause $KUBEADM_PAUSE_TAG"

etcd_mod=$HERE/src/etcd-$ETCD_VERSION
if [[ ! -f $etcd_mod/go.mod ]]; then
    say "making $etcd_mod (go get go.etcd.io/etcd/server/v3@$ETCD_VERSION)"
    mkdir -p "$etcd_mod"
    printf '// Builds a static etcd %s (registry.k8s.io/etcd:%s).\nmodule workshop-kind.local/etcd-build\n\ngo 1.23.0\n' \
        "$ETCD_VERSION" "$ETCD_IMAGE_TAG" >"$etcd_mod/go.mod"
    printf '//go:build tools\n\npackage build\n\nimport (\n\t_ "go.etcd.io/etcd/etcdctl/v3"\n\t_ "go.etcd.io/etcd/server/v3"\n)\n' >"$etcd_mod/tools.go"
    (cd "$etcd_mod" && GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION" \
        && GOFLAGS=-mod=mod go mod tidy) >>"$LOG" 2>&1 || { rm -rf "$etcd_mod"; die "go get of etcd $ETCD_VERSION failed (see $LOG)"; }
fi
go_build etcd "$etcd_mod" go.etcd.io/etcd/server/v3
go_build etcdctl "$etcd_mod" go.etcd.io/etcd/etcdctl/v3
grep -q "etcd Version: ${ETCD_VERSION#v}\$" <<<"$("$BIN/etcd" --version)" || die "etcd is not $ETCD_VERSION"
go_build crictl "$HERE/src/crictl" sigs.k8s.io/cri-tools/cmd/crictl \
    "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
go_build local-path-provisioner "$HERE/src/local-path" github.com/rancher/local-path-provisioner \
    "-X main.VERSION=$LOCAL_PATH_VERSION"
# kube-network-policies: its upstream module, with one patch of ours (files/kube-network-policies-
# xt-nfqueue.patch): packets reach its nfqueue through the xtables NFQUEUE target, as some kernels
# (this VM's among them) lack nftables' own queue expression.
np_upstream=$(cd "$WORK" && go mod download -json "sigs.k8s.io/kube-network-policies@$NETWORK_POLICIES_VERSION" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') || die "go mod download of kube-network-policies failed"
np_patch=$HERE/files/kube-network-policies-xt-nfqueue.patch
np_src=$WORK/src/kube-network-policies-$NETWORK_POLICIES_VERSION
if [[ "$(cat "$np_src/.workshop-patch" 2>/dev/null)" != "$(sha256sum <"$np_patch")" ]]; then
    rm -rf "$np_src" && mkdir -p "$(dirname "$np_src")" && cp -r "$np_upstream" "$np_src" && chmod -R u+w "$np_src"
    patch -s -d "$np_src" -p1 <"$np_patch" >>"$LOG" 2>&1 || die "the kube-network-policies patch does not apply (see $LOG)"
    sha256sum <"$np_patch" >"$np_src/.workshop-patch"
fi
go_build kube-network-policies "$np_src" ./cmd
for f in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl coredns pause; do
    cmp -s "$K8S_BIN/$f" "$BIN/$f" || cp "$K8S_BIN/$f" "$BIN/$f"
done
for f in containerd containerd-shim-runc-v2 ctr; do
    cmp -s "$ENGINE_BIN/$f" "$BIN/$f" || cp "$ENGINE_BIN/$f" "$BIN/$f"
done
grep -q " $CONTAINERD_VERSION" <<<"$("$BIN/containerd" --version)" || die "containerd is not $CONTAINERD_VERSION"
step_done "go programs"

# ---------------------------------------------------------------------------------
# 2. kind's node files, copied from the module cache into the base image's context.
step "kind $KIND_VERSION files"
kind_dir=$(cd "$WORK" && go mod download -json "sigs.k8s.io/kind@$KIND_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
ctx_base=$WORK/ctx-base
rm -rf "$ctx_base" && mkdir -p "$ctx_base/bin"
cp -r "$kind_dir/images/base/files" "$ctx_base/kind" && chmod -R u+w "$ctx_base/kind"
for f in containerd containerd-shim-runc-v2 ctr crictl; do ln "$BIN/$f" "$ctx_base/bin/$f"; done
# the pause image containerd itself will run (kind build node-image preloads this one too)
SANDBOX_PAUSE_TAG=$(sed -n 's#^\s*sandbox_image = "registry.k8s.io/pause:\(.*\)"#\1#p' "$ctx_base/kind/etc/containerd/config.toml")
[[ -n $SANDBOX_PAUSE_TAG ]] || die "no sandbox_image in kind's containerd config"
step_done "kind files"

# Every image is built with BuildKit from local images only, one manifest, no attestations.
build() { # tag dockerfile context [extra args...]
    local tag=$1 file=$2 ctx=$3; shift 3
    say "docker build $tag"
    docker build "${NO_CACHE[@]}" --provenance=false --sbom=false --pull=false \
        -f "$file" -t "$tag" "$@" "$ctx" >>"$LOG" 2>&1 || die "docker build of $tag failed (see $LOG)"
    grep -qxF "$tag" "$WORK/tags" 2>/dev/null || echo "$tag" >>"$WORK/tags"   # what the workshop records as its own
}

# ---------------------------------------------------------------------------------
# 3. The base image.
step "base image"
packages=$(grep -v '^#' "$HERE/files/base-packages.txt" | tr '\n' ' ')
build "workshop-kind/base:$BASE_TAG" "$HERE/docker/base.Dockerfile" "$ctx_base" \
    --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" --build-arg PACKAGES="$packages" \
    --build-arg RUNC_DEB="$RUNC_DEB" --build-arg CNI_PLUGINS_DEB="$CNI_PLUGINS_DEB"
step_done "base image"

# ---------------------------------------------------------------------------------
# 4. The component images. IMAGES: docker tag -> name inside the node.
step "component images"
ctx_comp=$WORK/ctx-components-$KUBE_VERSION
rm -rf "$ctx_comp" && mkdir -p "$ctx_comp/bin" "$ctx_comp/files"
for f in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl etcd etcdctl coredns pause local-path-provisioner kube-network-policies; do
    ln "$BIN/$f" "$ctx_comp/bin/$f"
done
cp "$HERE/files/kube-proxy-wrapper.sh" "$HERE/files/workshop-kind-net.sh" "$ctx_comp/files/"
declare -A TARGET=(
    [workshop-kind/kube-apiserver:$KUBE_VERSION]=kube-apiserver
    [workshop-kind/kube-controller-manager:$KUBE_VERSION]=kube-controller-manager
    [workshop-kind/kube-scheduler:$KUBE_VERSION]=kube-scheduler
    [workshop-kind/kube-proxy:$KUBE_VERSION]=kube-proxy
    [workshop-kind/etcd:$ETCD_IMAGE_TAG]=etcd
    [workshop-kind/coredns:$COREDNS_IMAGE_TAG]=coredns
    [workshop-kind/pause:$SANDBOX_PAUSE_TAG-$KUBE_VERSION]=pause
    [workshop-kind/net:v1-$KUBE_VERSION]=workshop-kind-net
    [workshop-kind/local-path-provisioner:$LOCAL_PATH_VERSION]=local-path-provisioner
    [workshop-kind/local-path-helper:v1]=local-path-helper
    [workshop-kind/network-policies:$NETWORK_POLICIES_VERSION]=kube-network-policies
)
# docker tag -> the names it gets inside the node (a space-separated list)
declare -A NODE_NAME=(
    [workshop-kind/kube-apiserver:$KUBE_VERSION]=registry.k8s.io/kube-apiserver:$KUBE_VERSION
    [workshop-kind/kube-controller-manager:$KUBE_VERSION]=registry.k8s.io/kube-controller-manager:$KUBE_VERSION
    [workshop-kind/kube-scheduler:$KUBE_VERSION]=registry.k8s.io/kube-scheduler:$KUBE_VERSION
    [workshop-kind/kube-proxy:$KUBE_VERSION]=registry.k8s.io/kube-proxy:$KUBE_VERSION
    [workshop-kind/etcd:$ETCD_IMAGE_TAG]=registry.k8s.io/etcd:$ETCD_IMAGE_TAG
    [workshop-kind/coredns:$COREDNS_IMAGE_TAG]=registry.k8s.io/coredns/coredns:$COREDNS_IMAGE_TAG
    [workshop-kind/pause:$SANDBOX_PAUSE_TAG-$KUBE_VERSION]="registry.k8s.io/pause:$SANDBOX_PAUSE_TAG registry.k8s.io/pause:$KUBEADM_PAUSE_TAG"
    [workshop-kind/net:v1-$KUBE_VERSION]=docker.io/workshop-kind/net:v1   # holds this version's kubectl
    [workshop-kind/local-path-provisioner:$LOCAL_PATH_VERSION]=docker.io/workshop-kind/local-path-provisioner:$LOCAL_PATH_VERSION
    [workshop-kind/local-path-helper:v1]=docker.io/workshop-kind/local-path-helper:v1
    [workshop-kind/network-policies:$NETWORK_POLICIES_VERSION]=docker.io/workshop-kind/network-policies:$NETWORK_POLICIES_VERSION
)
# kube-proxy's own packages, at the versions of the base image (nftables: for mode nftables
# and so that its start-up clean-up of the other mode finds the nft binary)
proxy_packages=$(grep -E '^(iptables|conntrack|nftables)=' "$HERE/files/base-packages.txt" | tr '\n' ' ')
for tag in $(printf '%s\n' "${!TARGET[@]}" | sort); do
    build "$tag" "$HERE/docker/components.Dockerfile" "$ctx_comp" --target "${TARGET[$tag]}" \
        --build-arg DEBIAN_IMAGE="$DEBIAN_IMAGE" --build-arg PROXY_PACKAGES="$proxy_packages" \
        --build-arg BUSYBOX_DEB="$BUSYBOX_DEB"
done
step_done "component images"

# ---------------------------------------------------------------------------------
# 5. The node image: the component images saved into one archive (only when one of
#    them changed, so a warm build hits BuildKit's cache), then imported by node.Dockerfile.
step "node image"
ctx_node=$WORK/ctx-node-$KUBE_VERSION
mkdir -p "$ctx_node/bin" "$ctx_node/manifests" "$ctx_node/preload"
for f in kubeadm kubelet kubectl; do cmp -s "$BIN/$f" "$ctx_node/bin/$f" || cp "$BIN/$f" "$ctx_node/bin/$f"; done
cp "$HERE/manifests/default-cni.yaml" "$HERE/manifests/default-storage.yaml" "$ctx_node/manifests/"
cp "$HERE/files/containerd-preload.toml" "$ctx_node/preload/"
preload=$(printf '%s\n' "${!NODE_NAME[@]}" | sort)
list=""
for tag in $preload; do
    for name in $(printf '%s\n' ${NODE_NAME[$tag]} | sort -u); do list+="docker.io/$tag $name"$'\n'; done
done
printf '%s' "$list" >"$ctx_node/preload/images.list"
ids=$(for tag in $preload; do echo "$tag $(docker image inspect -f '{{.Id}}' "$tag")"; done)
if [[ ! -f "$ctx_node/preload/images.tar" || "$(cat "$ctx_node/preload/images.ids" 2>/dev/null)" != "$ids" ]]; then
    say "docker save of $(echo "$preload" | wc -l) images"
    # shellcheck disable=SC2086
    docker save -o "$ctx_node/preload/images.tar" $preload >>"$LOG" 2>&1 || die "docker save failed (see $LOG)"
    echo "$ids" >"$ctx_node/preload/images.ids"
fi
build "workshop-kind/node:$NODE_TAG" "$HERE/docker/node.Dockerfile" "$ctx_node" \
    --build-arg BASE_IMAGE="workshop-kind/base:$BASE_TAG" --build-arg KUBE_VERSION="$KUBE_VERSION"
step_done "node image"

printf '%-28s %6.1f s\n' "total" "$(echo "$(date +%s.%N) - $total_start" | bc)" >>"$TIMES"
say "built workshop-kind/node:$NODE_TAG ($(docker image inspect -f '{{.Size}}' "workshop-kind/node:$NODE_TAG" | numfmt --to=iec) content)"
tail -n 12 "$TIMES" >&2
