# workshop-kind/base: a Debian bookworm root file system that boots systemd inside a
# privileged container and runs containerd 2.1.9 + runc 1.1.5, laid out the way
# `kind create cluster` expects of a node (kind's entrypoint, units and /kind/bin).
# Written for this workshop; kind's own files are copied into the context by build.sh.
# No `# syntax=` line: that would make BuildKit pull a frontend image.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}

ARG RUNC_DEB
ARG CNI_PLUGINS_DEB
ARG PACKAGES
ENV container=docker

# 1. Packages from the bookworm mirror (the only thing this machine can download).
#    PACKAGES holds name=version pairs written by build.sh from versions.env and apt.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends ${PACKAGES} \
        "runc=${RUNC_DEB}" "containernetworking-plugins=${CNI_PLUGINS_DEB}"; \
    apt-get clean; \
    rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
           /usr/share/doc/* /usr/share/man/* /usr/share/locale/*; \
    runc --version

# 2. systemd as PID 1 of a container: no gettys, no udev, no units the node does
#    not need; journald must not read the host's kmsg; /sbin/init is systemd.
RUN set -eux; \
    rm -f /lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service \
          /lib/systemd/system/multi-user.target.wants/* \
          /etc/systemd/system/*.wants/* \
          /lib/systemd/system/local-fs.target.wants/* \
          /lib/systemd/system/sockets.target.wants/*udev* \
          /lib/systemd/system/sockets.target.wants/*initctl* \
          /lib/systemd/system/basic.target.wants/*; \
    printf 'ReadKMsg=no\n' >> /etc/systemd/journald.conf; \
    ln -sf /lib/systemd/systemd /sbin/init; \
    mkdir -p /opt/cni/bin /etc/cni/net.d /etc/kubernetes/manifests /etc/containerd

# 3. kind's node files (entrypoint, containerd/kubelet units, sysctls, crictl.yaml,
#    /kind/bin hooks), copied by build.sh from sigs.k8s.io/kind@v0.33.0/images/base/files.
COPY --chmod=0755 kind/usr/local/bin/entrypoint /usr/local/bin/entrypoint
COPY --chmod=0755 kind/kind/bin/ /kind/bin/
COPY --chmod=0644 kind/etc/crictl.yaml /etc/crictl.yaml
COPY --chmod=0644 kind/etc/default/kubelet /etc/default/kubelet
COPY --chmod=0644 kind/etc/sysctl.d/ /etc/sysctl.d/
COPY --chmod=0644 kind/etc/systemd/system/containerd.service kind/etc/systemd/system/kubelet.service \
     kind/etc/systemd/system/kubelet.slice kind/etc/systemd/system/undo-mount-hacks.service /etc/systemd/system/
COPY --chmod=0644 kind/etc/systemd/system/kubelet.service.d/ /etc/systemd/system/kubelet.service.d/
COPY --chmod=0644 kind/etc/containerd/config.toml /etc/containerd/config.toml

# 4. containerd 2.1.9 (forky's build; needs glibc 2.34, bookworm has 2.36) and crictl.
COPY --chmod=0755 bin/containerd bin/containerd-shim-runc-v2 bin/ctr bin/crictl /usr/local/bin/

# 5. Adjust kind's containerd config for this VM and these binaries:
#    - the VM's root lacks CAP_SYS_RESOURCE: restrict_oom_score_adj must be true
#      (v2 key [plugins."io.containerd.grpc.v1.cri"]; containerd 2 migrates it to
#      [plugins.'io.containerd.cri.v1.runtime']);
#    - no fuse-overlayfs snapshotter is shipped, so drop its proxy plugin;
#    - the containerd-2 name of the hugetlb toleration (the old key is ignored with a warning).
#    Then the base OCI spec kind's config names, with kind's product_uuid hook and no rlimits.
RUN set -eux; \
    cfg=/etc/containerd/config.toml; \
    sed -i -e 's/^\(\s*restrict_oom_score_adj\s*=\s*\)false/\1true/' \
           -e 's/tolerate_missing_hugepages_controller/tolerate_missing_hugetlb_controller/' "$cfg"; \
    sed -i -e '/^\[proxy_plugins\]/,/^  address = "\/run\/containerd-fuse-overlayfs.sock"/d' "$cfg"; \
    grep -q 'restrict_oom_score_adj = true' "$cfg"; \
    ! grep -q fuse-overlayfs "$cfg"; \
    containerd --config "$cfg" config migrate >/dev/null; \
    for plugin in /usr/lib/cni/*; do ln -sf "$plugin" /opt/cni/bin/; done; \
    ctr oci spec \
      | jq '.hooks.createContainer = ((.hooks.createContainer // []) + [{"path": "/kind/bin/mount-product-files.sh"}]) | del(.process.rlimits)' \
      > /etc/containerd/cri-base.json; \
    containerd --version; crictl --version; ls /usr/lib/cni

# 6. Units on at boot; binfmt is the host's business.
RUN systemctl enable containerd.service kubelet.service undo-mount-hacks.service \
 && systemctl mask systemd-binfmt.service

LABEL edu.cs198.workshop=kind-node \
      edu.cs198.workshop.kind-node.role=base
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
