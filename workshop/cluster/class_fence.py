"""The fence around each student's namespace: what a student may do with the API, where their pods may
send packets, and what the API server refuses from them, all with Kubernetes' own mechanisms.

Read as a student who wants to spoil the lecture, the built-in `edit` role gives too much: it may
delete the namespace's NetworkPolicy (and with it the network fence), make DaemonSets, Ingresses
(a host name of the teacher's, where an ingress controller runs), PodDisruptionBudgets (a drain that
never ends), PersistentVolumeClaims (on kind's local-path storage, a folder of the node's disk with no
size limit), Services of type NodePort or LoadBalancer (ports on every node, or a cloud address) and
Services with externalIPs (traffic to any address, the teacher's pods' included, caught cluster-wide),
and pods with a priority class (`system-node-critical` may preempt the teacher's pods) or a node of
their choosing (around a cordon). So a student gets ROLE below, the verbs the lecture's boxes use and
no more (docs/class.md lists them, and a test compares that list with what the API server answers);
the Services and pods they may make are narrowed by a ValidatingAdmissionPolicy; a NetworkPolicy lets
their pods reach their own namespace and the cluster's DNS and nothing else (not the teacher's
namespace, not another student's, not the nodes, the API server or the registry, which therefore takes
pushes only from the teacher's machine while the nodes still pull); and the quota admits no NodePort,
no load balancer and no volume claim. The one pod let through to the API server is the student's
browser terminal (class_terminal.py), which acts as the student's own account; the admission policy
keeps its label the teacher's to set."""

from pathlib import Path

import yaml

from workshop.cluster.class_terminal import LABEL_KEY as TERMINAL_LABEL, RESOURCES as TERMINAL
from workshop.machine import app_images
from workshop.names import REGISTRY

LABEL = {"app.kubernetes.io/part-of": "cs198-workshop-class"}
ACCOUNT = "student"
# room beyond the lecture's peak: a rollout's surge pod and a debugging pod or two
HEADROOM = 1.5
ROLE = "cs198-student"
POLICY = "cs198-class-fence"

WRITE = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
READ = ["get", "list", "watch"]
# (API group, resources, verbs): what the lecture's Kubernetes boxes and the extras' need in a namespace
RULES: list[tuple[str, list[str], list[str]]] = [
    ("", ["pods", "services", "configmaps", "secrets"], WRITE),
    ("", ["pods/log"], ["get"]),
    ("", ["pods/exec", "pods/portforward", "pods/attach"], ["get", "create"]),
    ("", ["endpoints", "events", "resourcequotas", "limitranges", "serviceaccounts"], READ),
    ("apps", ["deployments", "replicasets"], WRITE),
    ("apps", ["deployments/scale"], ["get", "update", "patch"]),
    ("batch", ["jobs"], WRITE),
    ("discovery.k8s.io", ["endpointslices"], READ),
    ("events.k8s.io", ["events"], READ),
]
# what the quota never admits in a student's namespace, whatever the lecture's footprint
QUOTA_NEVER = {"services.nodeports": "0", "services.loadbalancers": "0", "persistentvolumeclaims": "0"}
# how many objects and how much scratch disk: the API server's store (etcd) and the nodes' disks (on kind,
# the teacher's own) are shared by the whole class; the lecture needs a few of each
QUOTA_COUNTS = {
    "count/configmaps": "10",
    "count/secrets": "10",
    "count/deployments.apps": "8",
    "count/replicasets.apps": "60",
    "count/jobs.batch": "4",
    "requests.ephemeral-storage": "1Gi",
    "limits.ephemeral-storage": "6Gi",
}


def role(namespace: str) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": ROLE, "namespace": namespace, "labels": LABEL},
        "rules": [{"apiGroups": [group], "resources": resources, "verbs": verbs} for group, resources, verbs in RULES],
    }


def binding(namespace: str, account: str) -> dict:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": ROLE, "namespace": namespace, "labels": LABEL},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }


def network_policy(namespace: str) -> dict:
    """In from the namespace's own pods only; out to them and to the cluster's DNS only."""
    dns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "own-namespace-and-dns-only", "namespace": namespace, "labels": LABEL},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [
                {"to": [{"podSelector": {}}]},
                {"to": [dns], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            ],
        },
    }


# the workloads whose pod template a student may write (RULES): none may carry the terminal's label
TEMPLATED = "['Deployment', 'ReplicaSet', 'Job']"
# The tolerations the API server itself adds to every pod (DefaultTolerationSeconds): all a student's may have.
DEFAULT_TOLERATIONS = "['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']"
VALIDATIONS = [
    (
        "object.kind != 'Service' || ((!has(object.spec.type) || object.spec.type == 'ClusterIP') && "
        "(!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0))",
        "a student's Service is of type ClusterIP, with no externalIPs",
    ),
    (
        f"object.kind != 'Pod' || (object.spec.containers.all(c, c.image.startsWith('{REGISTRY}/')) && "
        f"(!has(object.spec.initContainers) || object.spec.initContainers.all(c, c.image.startsWith('{REGISTRY}/'))))",
        f"a student's pod runs the lecture's images only ({REGISTRY}/...): the nodes' disks are the class's",
    ),
    (
        "object.kind != 'Pod' || !has(object.spec.priorityClassName) || object.spec.priorityClassName == ''",
        "a student's pod has no priorityClassName",
    ),
    (
        "object.kind != 'Pod' || request.operation != 'CREATE' || !has(object.spec.nodeName) || "
        "object.spec.nodeName == ''",
        "a student's pod is placed by the scheduler, not by nodeName",
    ),
    (
        "object.kind != 'Pod' || !has(object.spec.tolerations) || "
        f"object.spec.tolerations.all(t, has(t.key) && t.key in {DEFAULT_TOLERATIONS})",
        "a student's pod tolerates no taint of its own choosing",
    ),
    (
        # the label lets a pod reach the API server (class_terminal.api_policy): only the teacher's
        # `class serve` sets it, never an account of the student's namespace, nor a controller acting on
        # the student's objects (with its own account in kube-system, or as kube-controller-manager)
        f"object.kind != 'Pod' || !has(object.metadata.labels) || !('{TERMINAL_LABEL}' in object.metadata.labels) || "
        "!(request.userInfo.username.startsWith('system:serviceaccount:' + request.namespace + ':') || "
        "request.userInfo.username.startsWith('system:serviceaccount:kube-system:') || "
        "request.userInfo.username == 'system:kube-controller-manager')",
        "the class terminal's label is the teacher's to set",
    ),
    (
        f"!(object.kind in {TEMPLATED}) || !has(object.spec.template.metadata) || "
        f"!has(object.spec.template.metadata.labels) || !('{TERMINAL_LABEL}' in object.spec.template.metadata.labels)",
        "the class terminal's label is the teacher's to set: no pod template carries it",
    ),
]


def admission_policy() -> list[dict]:
    """One ValidatingAdmissionPolicy for the class, bound to every namespace labelled as the class's
    (a namespace's labels are not a student's to change)."""
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY, "labels": LABEL},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["services", "pods"],
                    },
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["deployments", "replicasets"],
                    },
                    {
                        "apiGroups": ["batch"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["jobs"],
                    },
                ]
            },
            "validations": [{"expression": expression, "message": message} for expression, message in VALIDATIONS],
        },
    }
    bound = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY, "labels": LABEL},
        "spec": {
            "policyName": POLICY,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": LABEL}},
        },
    }
    return [policy, bound]


def docs_table() -> str:
    """The Markdown table docs/class.md shows (a test holds it against the API server's own answer)."""
    lines = ["| API group | resources | verbs |", "|---|---|---|"]
    for group, resources, verbs in RULES:
        lines.append(f"| {group or 'core'} | {', '.join(resources)} | {', '.join(verbs)} |")
    return "\n".join(lines)


def _quantity(value: str) -> float:
    """CPU in cores or memory in MiB, from a Kubernetes quantity."""
    units = {"m": 1 / 1000, "Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for unit, factor in units.items():
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


def footprint(folder: Path = app_images.K8S_DEMO) -> dict[str, float]:
    """What the lecture's app asks for at its peak (ok-worker scaled to 3, one surge pod per rollout):
    requests and limits of CPU (cores) and memory (MiB), and the number of pods."""
    totals = {"requests.cpu": 0.0, "requests.memory": 0.0, "limits.cpu": 0.0, "limits.memory": 0.0, "pods": 0.0}
    peak_replicas = {"ok-worker": 3}
    for manifest in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if not doc or doc.get("kind") != "Deployment":
                continue
            name = doc["metadata"]["name"]
            replicas = max(doc["spec"].get("replicas", 1), peak_replicas.get(name, 0)) + 1  # + a surge pod
            totals["pods"] += replicas
            for container in doc["spec"]["template"]["spec"]["containers"]:
                resources = container.get("resources", {})
                for kind in ("requests", "limits"):
                    for what in ("cpu", "memory"):
                        value = resources.get(kind, {}).get(what)
                        if value:
                            totals[f"{kind}.{what}"] += _quantity(str(value)) * replicas
    return totals


def quota(folder: Path = app_images.K8S_DEMO) -> dict[str, str]:
    """The lecture's peak with headroom, plus the browser terminal's pod (scripts/class serve)."""
    need = footprint(folder)
    need["pods"] += 1 / HEADROOM
    for kind in ("requests", "limits"):
        for what in ("cpu", "memory"):
            need[f"{kind}.{what}"] += _quantity(TERMINAL[kind][what]) / HEADROOM
    return {
        "requests.cpu": f"{int(need['requests.cpu'] * HEADROOM * 1000)}m",
        "requests.memory": f"{int(need['requests.memory'] * HEADROOM)}Mi",
        "limits.cpu": f"{int(need['limits.cpu'] * HEADROOM * 1000)}m",
        "limits.memory": f"{int(need['limits.memory'] * HEADROOM)}Mi",
        "pods": str(int(need["pods"] * HEADROOM)),
        "services": "4",
    }


def objects(namespace: str, hard: dict[str, str]) -> list[dict]:
    """Everything a student's namespace holds before the student does anything (the module's
    docstring says why each piece of the fence is there)."""
    meta = {"namespace": namespace, "labels": dict(LABEL)}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {
                    **LABEL,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": ACCOUNT, **meta}},
        role(namespace),
        binding(namespace, ACCOUNT),
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "student", **meta},
            "spec": {"hard": {**hard, **QUOTA_NEVER, **QUOTA_COUNTS}},
        },
        {  # a pod whose (anti-)affinity names other namespaces could keep every other pod off every node
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "no-cross-namespace-affinity", **meta},
            "spec": {
                "hard": {"pods": "0"},
                "scopeSelector": {
                    "matchExpressions": [{"scopeName": "CrossNamespacePodAffinity", "operator": "Exists"}]
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "student", **meta},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": "200m", "memory": "128Mi", "ephemeral-storage": "256Mi"},
                        "defaultRequest": {"cpu": "20m", "memory": "32Mi", "ephemeral-storage": "16Mi"},
                        "max": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "1Gi"},
                    }
                ]
            },
        },
        network_policy(namespace),
    ]
