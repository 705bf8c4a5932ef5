"""The class's fence and door without a cluster: what docs/class.md promises is what the code makes, and
bad addresses get one line that says what to give (the tests on the real cluster are in test_class.py)."""

import pytest

from workshop.cli import WorkshopError
from workshop.cluster import class_door, class_fence, classroom
from workshop.paths import ROOT


def test_the_docs_show_the_role_the_class_makes():
    assert class_fence.docs_table() in (ROOT / "docs" / "class.md").read_text()


def test_a_students_namespace_binds_no_built_in_role_and_fences_egress():
    made = classroom.objects("cs198-student-01", classroom.quota())
    kinds = [o["kind"] for o in made]
    assert kinds.count("RoleBinding") == 1 and "ClusterRole" not in kinds
    binding = next(o for o in made if o["kind"] == "RoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": class_fence.ROLE}
    policy = next(o for o in made if o["kind"] == "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    quotas = {o["metadata"]["name"]: o["spec"] for o in made if o["kind"] == "ResourceQuota"}
    assert quotas["no-cross-namespace-affinity"]["hard"] == {"pods": "0"}
    quota = quotas["student"]["hard"]
    assert all(name in quota for name in class_fence.QUOTA_COUNTS)
    assert quota["services.nodeports"] == quota["services.loadbalancers"] == quota["persistentvolumeclaims"] == "0"
    role = next(o for o in made if o["kind"] == "Role")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert not resources & {
        "networkpolicies",
        "daemonsets",
        "ingresses",
        "poddisruptionbudgets",
        "persistentvolumeclaims",
    }


@pytest.mark.parametrize(
    "address, said",
    [
        ("lab-wifi", "is not an IP address"),
        ("0.0.0.0", "give one IPv4 address of this machine"),
        ("fe80::1", "give one IPv4 address of this machine"),
    ],
)
def test_a_bad_address_is_one_line_that_says_what_to_give(address, said):
    with pytest.raises(WorkshopError, match=said) as raised:
        class_door.check_address(address)
    assert "\n" not in str(raised.value)


def test_the_default_address_is_this_machines_on_its_default_route():
    import subprocess

    found = class_door.default_address()
    assert not class_door.is_loopback(found)
    listed = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    assert f" {found}/" in listed


@pytest.mark.parametrize(
    "host, loopback", [("127.0.0.1", True), ("localhost", True), ("[::1]", True), ("10.1.2.3", False)]
)
def test_loopback_servers_are_told_apart(host, loopback):
    assert class_door.is_loopback(host) is loopback
