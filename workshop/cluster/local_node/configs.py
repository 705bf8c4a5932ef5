"""Every configuration file and command line of the local node, as pure functions of a Layout.

Nothing here touches the machine, so the unit tests check it all without root.
"""
import json
from pathlib import Path
from typing import Dict, List

import yaml

from workshop.cluster.local_node.layout import (BRIDGE, BRIDGE_IP, CLUSTER_DOMAIN, CLUSTER_NAME, CONTEXT, NODE_NAME, PORTS, POD_SUBNET,
                     SERVICE_SUBNET, Layout)

API_SERVER = f"https://127.0.0.1:{PORTS['kube-apiserver']['https']}"
# etcd answers only clients with a certificate of the node's CA (the API server's)
ETCD = f"https://127.0.0.1:{PORTS['etcd']['client']}"
LOCAL_REGISTRIES = ["localhost:5001", "127.0.0.1:5001"]
CNI_BIN = "/usr/lib/cni"


def kubeconfig(layout: Layout, user: str, identity: str, context: str = CONTEXT) -> str:
    """A kubeconfig that points at the local API server with one client certificate."""
    pki = layout.pki
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": CLUSTER_NAME, "cluster": {"server": API_SERVER, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": user, "user": {"client-certificate": str(pki / f"{identity}.crt"),
                                          "client-key": str(pki / f"{identity}.key")}}],
        "contexts": [{"name": context, "context": {"cluster": CLUSTER_NAME, "user": user}}],
        "current-context": context,
    }, sort_keys=False)


def containerd_config(layout: Layout, pause_image: str) -> str:
    """containerd 1.6 (config version 2): its own root, state and socket; CRI set up for this VM."""
    return f"""version = 2
root = "{layout.containerd_root}"
state = "{layout.containerd_state}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{layout.containerd_socket}"

[ttrpc]
  address = "{layout.containerd_socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{layout.node / 'containerd' / 'opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause_image}"
  # Without CAP_SYS_RESOURCE, runc cannot lower a container's oom_score_adj below our own.
  restrict_oom_score_adj = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = "{layout.node / 'containerd' / 'runc'}"

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{layout.cni_conf}"
  max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "{layout.registry_hosts}"
"""


def registry_hosts_toml(registry: str) -> str:
    """hosts.toml for a registry that speaks plain HTTP (the workshop's local registry)."""
    return f"""server = "http://{registry}"

[host."http://{registry}"]
  capabilities = ["pull", "resolve"]
"""


def cni_conflist(layout: Layout) -> str:
    """One bridge on the pod subnet with hostPort support. containerd's CRI adds the loopback
    plugin (lo in every pod) by itself, from the same CNI folder."""
    return json.dumps({
        "cniVersion": "0.4.0",
        "name": "workshop",
        "plugins": [
            {"type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": False, "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": str(layout.cni_data),
                      "ranges": [[{"subnet": POD_SUBNET, "gateway": BRIDGE_IP}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }, indent=2) + "\n"


def kubelet_config(layout: Layout) -> str:
    pki = layout.pki
    return yaml.safe_dump({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "port": PORTS["kubelet"]["https"],
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": PORTS["kubelet"]["healthz"],
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet-serving.key"),
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterDNS": [BRIDGE_IP],
        "resolvConf": "/etc/resolv.conf",
        "podLogsDir": str(layout.pod_logs),
        "staticPodPath": "",
        "serializeImagePulls": False,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "localStorageCapacityIsolation": True,
        "maxPods": 60,
    }, sort_keys=False)


def kube_proxy_config(layout: Layout) -> str:
    """iptables mode; every host sysctl left alone (conntrack sizes, route_localnet)."""
    return yaml.safe_dump({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.component_kubeconfig("kube-proxy"))},
        "mode": "iptables",
        "hostnameOverride": NODE_NAME,
        "bindAddress": "127.0.0.1",
        "healthzBindAddress": f"127.0.0.1:{PORTS['kube-proxy']['healthz']}",
        "metricsBindAddress": f"127.0.0.1:{PORTS['kube-proxy']['metrics']}",
        "clusterCIDR": POD_SUBNET,
        "nodePortAddresses": ["127.0.0.1/32"],
        "iptables": {"masqueradeAll": True, "localhostNodePorts": False, "syncPeriod": "30s", "minSyncPeriod": "1s"},
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }, sort_keys=False)


def corefile(layout: Layout) -> str:
    """CoreDNS on the pods' gateway: cluster names from the API server, the rest as the host resolves them.
    Answers live 5 s, not the usual 30: a lecture deletes and re-creates its Services within
    seconds, and a cached old ClusterIP kept the new web pods from reaching Redis for half a minute."""
    ports = PORTS["coredns"]
    return f""".:53 {{
    bind {BRIDGE_IP}
    errors
    health 127.0.0.1:{ports['health']}
    ready 127.0.0.1:{ports['ready']}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {layout.component_kubeconfig('coredns')} {CONTEXT}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
    forward . /etc/resolv.conf
    cache 5
    loadbalance
}}
"""


COREDNS_RBAC = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: workshop:coredns
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: workshop:coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: workshop:coredns
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: workshop:coredns
"""


def commands(layout: Layout, bin_dir: Path) -> Dict[str, List[str]]:
    """The command line of every component, in start order."""
    pki, conf = layout.pki, layout.conf
    etcd_ports = PORTS["etcd"]
    authn = lambda name: [f"--kubeconfig={layout.component_kubeconfig(name)}",  # noqa: E731
                          f"--authentication-kubeconfig={layout.component_kubeconfig(name)}",
                          f"--authorization-kubeconfig={layout.component_kubeconfig(name)}"]
    return {
        "etcd": [
            "etcd", "--name=workshop", f"--data-dir={layout.etcd_data}",
            f"--listen-client-urls={ETCD}", f"--advertise-client-urls={ETCD}",
            f"--listen-peer-urls=http://127.0.0.1:{etcd_ports['peer']}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_ports['peer']}",
            f"--initial-cluster=workshop=http://127.0.0.1:{etcd_ports['peer']}",
            f"--cert-file={pki / 'etcd-server.crt'}", f"--key-file={pki / 'etcd-server.key'}",
            "--client-cert-auth", f"--trusted-ca-file={pki / 'ca.crt'}",
            "--quota-backend-bytes=1073741824", "--snapshot-count=10000", "--logger=zap", "--log-level=warn",
        ],
        "containerd": ["containerd", f"--config={conf / 'containerd.toml'}", "--log-level=warn"],
        "kube-apiserver": [
            str(bin_dir / "kube-apiserver"),
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={PORTS['kube-apiserver']['https']}",
            f"--etcd-servers={ETCD}", f"--etcd-cafile={pki / 'ca.crt'}",
            f"--etcd-certfile={pki / 'apiserver-etcd-client.crt'}", f"--etcd-keyfile={pki / 'apiserver-etcd-client.key'}",
            f"--service-cluster-ip-range={SERVICE_SUBNET}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={pki / 'ca.crt'}",
            "--kubelet-preferred-address-types=Hostname",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            "--profiling=false",
            "--endpoint-reconciler-type=none",
        ],
        "kube-controller-manager": [
            str(bin_dir / "kube-controller-manager"), *authn("controller-manager"),
            "--bind-address=127.0.0.1", f"--secure-port={PORTS['kube-controller-manager']['https']}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--root-ca-file={pki / 'ca.crt'}", f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            "--use-service-account-credentials=true", f"--service-cluster-ip-range={SERVICE_SUBNET}",
            "--leader-elect=false", "--profiling=false",
        ],
        "kube-scheduler": [
            str(bin_dir / "kube-scheduler"), *authn("scheduler"),
            "--bind-address=127.0.0.1", f"--secure-port={PORTS['kube-scheduler']['https']}",
            f"--client-ca-file={pki / 'ca.crt'}", "--leader-elect=false", "--profiling=false",
        ],
        "kubelet": [
            str(bin_dir / "kubelet"), f"--config={conf / 'kubelet.yaml'}",
            f"--kubeconfig={layout.component_kubeconfig('kubelet')}",
            f"--root-dir={layout.kubelet_root}", f"--hostname-override={NODE_NAME}",
        ],
        "kube-proxy": [str(bin_dir / "kube-proxy"), f"--config={conf / 'kube-proxy.yaml'}"],
        "coredns": [str(bin_dir / "coredns"), "-conf", str(conf / "Corefile")],
    }


def files(layout: Layout, pause_image: str) -> Dict[Path, str]:
    """Every generated file and its content."""
    generated = {
        layout.conf / "containerd.toml": containerd_config(layout, pause_image),
        layout.conf / "kubelet.yaml": kubelet_config(layout),
        layout.conf / "kube-proxy.yaml": kube_proxy_config(layout),
        layout.conf / "Corefile": corefile(layout),
        layout.conf / "coredns-rbac.yaml": COREDNS_RBAC,
        layout.cni_conf / "10-workshop.conflist": cni_conflist(layout),
        layout.kubeconfig: kubeconfig(layout, "workshop-admin", "admin"),
    }
    for registry in LOCAL_REGISTRIES:
        generated[layout.registry_hosts / registry / "hosts.toml"] = registry_hosts_toml(registry)
    for component, identity, user in [
        ("controller-manager", "controller-manager", "system:kube-controller-manager"),
        ("scheduler", "scheduler", "system:kube-scheduler"),
        ("kubelet", "kubelet", f"system:node:{NODE_NAME}"),
        ("kube-proxy", "kube-proxy", "system:kube-proxy"),
        ("coredns", "coredns", "workshop:coredns"),
    ]:
        generated[layout.component_kubeconfig(component)] = kubeconfig(layout, user, identity)
    return generated
