# The images kubeadm and kind's manifests run, one build target each.
# Every one holds static programs built on this machine from the Go module proxy
# (or the workshop's k8s-bin); build.sh tags them workshop-kind/<name>:<tag> in Docker
# and renames them to the registry.k8s.io / docker.io names inside the node image.
ARG DEBIAN_IMAGE=debian:bookworm-slim

# --- control plane: one static binary on PATH (kubeadm's manifests call them by name)
FROM scratch AS kube-apiserver
ENV PATH=/usr/local/bin:/usr/bin:/bin
COPY --chmod=0755 bin/kube-apiserver /usr/local/bin/kube-apiserver
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/usr/local/bin/kube-apiserver"]

FROM scratch AS kube-controller-manager
ENV PATH=/usr/local/bin:/usr/bin:/bin
COPY --chmod=0755 bin/kube-controller-manager /usr/local/bin/kube-controller-manager
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/usr/local/bin/kube-controller-manager"]

FROM scratch AS kube-scheduler
ENV PATH=/usr/local/bin:/usr/bin:/bin
COPY --chmod=0755 bin/kube-scheduler /usr/local/bin/kube-scheduler
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/usr/local/bin/kube-scheduler"]

# --- etcd, at the version this kubeadm asks for
FROM scratch AS etcd
ENV PATH=/usr/local/bin:/usr/bin:/bin
COPY --chmod=0755 bin/etcd bin/etcdctl /usr/local/bin/
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/usr/local/bin/etcd"]

# --- CoreDNS: kubeadm's Deployment passes only args (-conf ...), so /coredns is the entrypoint
FROM scratch AS coredns
COPY --chmod=0755 bin/coredns /coredns
LABEL edu.cs198.workshop=kind-node
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]

# --- the sandbox image named by kind's containerd config (sandbox_image)
FROM scratch AS pause
COPY --chmod=0755 bin/pause /pause
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/pause"]

# --- kube-network-policies: NetworkPolicy on every node, as kind's kindnetd does it (nftables and an
#     nfqueue, both through netlink: no program from the node is needed)
FROM scratch AS kube-network-policies
COPY --chmod=0755 bin/kube-network-policies /bin/netpol
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/bin/netpol"]

# --- kube-proxy needs iptables (+conntrack, nftables) in its own image. kubeadm's DaemonSet runs
#     /usr/local/bin/kube-proxy: that is a small shell script that first points the
#     iptables alternatives at the backend the node already uses, then execs the binary.
FROM ${DEBIAN_IMAGE} AS kube-proxy
ARG PROXY_PACKAGES
RUN set -eux; export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; apt-get install -y --no-install-recommends ${PROXY_PACKAGES}; \
    apt-get clean; rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /var/log/apt /var/log/dpkg.log
COPY --chmod=0755 bin/kube-proxy /usr/local/lib/kube-proxy/kube-proxy
COPY --chmod=0755 files/kube-proxy-wrapper.sh /usr/local/bin/kube-proxy
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/usr/local/bin/kube-proxy"]

# --- workshop-kind-net: the node network agent of default-cni.yaml (ptp + host-local
#     per node podCIDR, routes to the other nodes' podCIDRs, masquerade to the outside).
#     It uses nsenter into the node for ip/iptables, and kubectl for the node list.
FROM ${DEBIAN_IMAGE} AS workshop-kind-net
COPY --chmod=0755 bin/kubectl /usr/local/bin/kubectl
COPY --chmod=0755 files/workshop-kind-net.sh /usr/local/bin/workshop-kind-net
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/usr/local/bin/workshop-kind-net"]

# --- storage: rancher local-path-provisioner v0.0.30 and a helper with sh/mkdir/rm
FROM scratch AS local-path-provisioner
COPY --chmod=0755 bin/local-path-provisioner /usr/local/bin/local-path-provisioner
ENV PATH=/usr/local/bin:/usr/bin:/bin
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/usr/local/bin/local-path-provisioner"]

FROM ${DEBIAN_IMAGE} AS busybox-stage
ARG BUSYBOX_DEB
RUN set -eux; export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; apt-get install -y --no-install-recommends "busybox-static=${BUSYBOX_DEB}"; \
    mkdir -p /out/bin; cp /bin/busybox /out/bin/busybox; \
    for applet in sh mkdir rm ls cat chmod; do ln -s busybox "/out/bin/$applet"; done

FROM scratch AS local-path-helper
COPY --from=busybox-stage /out/ /
ENV PATH=/bin
LABEL edu.cs198.workshop=kind-node
ENTRYPOINT ["/bin/sh"]
