# workshop-kind/node: workshop-kind/base + Kubernetes $KUBE_VERSION (kubeadm, kubelet, kubectl),
# /kind/version, kind's two add-on manifests (our own CNI and storage), and every
# image a kubeadm node needs already in containerd's k8s.io namespace, so that
# `kind create cluster` never pulls. Uses RUN --mount (BuildKit) so the image
# archive is read from the build context without becoming a layer.
ARG BASE_IMAGE=workshop-kind/base:bookworm-1
FROM ${BASE_IMAGE}
ARG KUBE_VERSION=v1.32.5

COPY --chmod=0755 bin/kubeadm bin/kubelet bin/kubectl /usr/bin/
COPY --chmod=0644 manifests/default-cni.yaml manifests/default-storage.yaml /kind/manifests/
RUN set -eu; \
    printf '%s' "${KUBE_VERSION}" > /kind/version; \
    test "$(kubeadm version -o short)" = "${KUBE_VERSION}"; \
    kubelet --version; kubectl version --client

# images.list: "<name in images.tar> <name inside the node>" per line (see build.sh);
# one archive image may get several names (pause: kind's sandbox tag and kubeadm's).
RUN --mount=type=bind,source=preload,target=/kind/preload \
    set -eu; \
    containerd --config /kind/preload/containerd-preload.toml >/tmp/containerd-preload.log 2>&1 & \
    cpid=$!; \
    ctr="ctr --address /run/containerd-preload/containerd.sock --namespace k8s.io"; \
    for i in $(seq 1 50); do $ctr version >/dev/null 2>&1 && break; sleep 0.2; done; \
    $ctr images import --label=io.cri-containerd.pinned=pinned --no-unpack /kind/preload/images.tar; \
    while read -r from to; do \
      [ "$from" = "$to" ] || $ctr images tag --force "$from" "$to" >/dev/null; \
      $ctr images label "$to" io.cri-containerd.pinned=pinned >/dev/null; \
    done < /kind/preload/images.list; \
    for from in $(cut -d' ' -f1 /kind/preload/images.list | sort -u); do \
      grep -q " $from\$" /kind/preload/images.list || $ctr images rm "$from" >/dev/null; \
    done; \
    $ctr images ls -q; \
    kill "$cpid"; wait "$cpid" || true; \
    rm -rf /run/containerd-preload /tmp/containerd-preload.log /var/lib/containerd/io.containerd.content.v1.content/ingest/*; \
    for wanted in $(kubeadm config images list --kubernetes-version "${KUBE_VERSION}"); do \
      grep -q " ${wanted}\$" /kind/preload/images.list || { echo "missing image: $wanted" >&2; exit 1; }; \
    done

LABEL edu.cs198.workshop=kind-node \
      edu.cs198.workshop.kind-node.role=node \
      edu.cs198.workshop.kind-node.kubernetes=${KUBE_VERSION}
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
