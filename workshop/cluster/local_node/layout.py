"""Where the local node keeps its files, and the fixed addresses and ports it uses.

Everything lives under .workshop/local-node/ except the admin kubeconfig (paths.KUBECONFIG),
the logs (.workshop/logs/) and the built programs (.workshop/k8s-bin/).
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict

from workshop import paths

# The node is called localhost: the API server reaches kubelet by the node's host name, and
# kubelet (which refuses a loopback node IP) listens on 127.0.0.1 only. "localhost" resolves
# to 127.0.0.1 on every machine, without touching /etc/hosts.
NODE_NAME = "localhost"
CONTEXT = "workshop"
CLUSTER_NAME = "workshop-local"
BRIDGE = "workshop0"
POD_SUBNET = "10.244.0.0/24"
BRIDGE_IP = "10.244.0.1"       # the pods' gateway; CoreDNS answers here
SERVICE_SUBNET = "10.96.0.0/16"
CLUSTER_DOMAIN = "cluster.local"
IPTABLES_COMMENT = "workshop-local-node"

# The TCP ports each component listens on, all on 127.0.0.1 (CoreDNS: BRIDGE_IP:53).
PORTS: Dict[str, Dict[str, int]] = {
    "etcd": {"client": 23790, "peer": 23800},
    "kube-apiserver": {"https": 6443},
    "kube-controller-manager": {"https": 10257},
    "kube-scheduler": {"https": 10259},
    "kubelet": {"https": 10250, "healthz": 10248},
    "kube-proxy": {"healthz": 10256, "metrics": 10249},
    "coredns": {"health": 18080, "ready": 18181},
}

# Start order; down stops them in reverse.
COMPONENTS = ["etcd", "containerd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
              "kubelet", "kube-proxy", "coredns"]


@dataclass(frozen=True)
class Layout:
    state: Path = field(default_factory=lambda: paths.STATE)

    @property
    def node(self) -> Path:
        return self.state / "local-node"

    @property
    def pki(self) -> Path:
        return self.node / "pki"

    @property
    def conf(self) -> Path:
        return self.node / "conf"

    @property
    def run(self) -> Path:
        return self.node / "run"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def etcd_data(self) -> Path:
        return self.node / "etcd"

    @property
    def containerd_root(self) -> Path:
        return self.node / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.node / "containerd" / "state"

    @property
    def containerd_socket(self) -> Path:
        return self.node / "containerd" / "containerd.sock"

    @property
    def registry_hosts(self) -> Path:
        return self.node / "containerd" / "certs.d"

    @property
    def cni_conf(self) -> Path:
        return self.node / "cni" / "net.d"

    @property
    def cni_data(self) -> Path:
        return self.node / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.node / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.node / "pod-logs"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig: the workshop's own, never ~/.kube/config."""
        return self.state / paths.KUBECONFIG.relative_to(paths.STATE)

    def component_kubeconfig(self, component: str) -> Path:
        return self.conf / f"{component}.kubeconfig"

    def pid_file(self, component: str) -> Path:
        return self.run / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"
