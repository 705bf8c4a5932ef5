"""What doctor says about the Kubernetes release, kubectl's skew and cgroup v1: each rule with a
release that breaks it and one that does not, on the day the workshop was last checked."""

import datetime

from workshop import versions
from workshop.cluster import lifecycle

DAY = datetime.date(2026, 12, 3)


def said(server, client="v1.37.2", cgroup="2", kind_made=True, today=DAY):
    return " | ".join(what for what, _ in lifecycle.problems(server, client, cgroup, kind_made, today))


def test_a_minor_past_its_end_of_life_is_named_with_its_date_and_the_fix():
    problems = lifecycle.problems("v1.34.11", "v1.34.11", "2", True, DAY)
    assert [what for what, _ in problems] == [
        "Kubernetes 1.34 reached its end of life on 2026-10-27: it gets no security fixes"
    ]
    assert "scripts/cluster up" in problems[0][1]
    assert "end of life" in said("v1.20.0", client="v1.20.0")  # older than the table: ended long ago
    assert said("v1.35.4", client="v1.35.4") == ""  # supported until 2027-02-28
    assert "end of life" in said("v1.35.4", client="v1.35.4", today=datetime.date(2027, 3, 1))


def test_the_release_the_workshop_builds_is_supported_today():
    """Today as the machine's clock says (the fixed DAY of the other tests could never see it end)."""
    version = versions.kubernetes_version()
    assert said(version, client=version, cgroup="2", today=datetime.date.today()) == ""


def test_kubectl_more_than_one_minor_away_is_named():
    assert said("v1.37.2", client="v1.36.3") == ""
    assert said("v1.37.2", client="v1.38.0") == ""
    assert "kubectl 1.35 is more than one minor version from the cluster's 1.37" in said("v1.37.2", client="v1.35.4")
    assert "kubectl 1.39" in said("v1.37.2", client="v1.39.0")


def test_cgroup_v1_is_named_only_under_a_new_kubelet_on_the_workshops_kind_nodes():
    assert "failCgroupV1: false" in said("v1.37.2", cgroup="1")
    assert said("v1.37.2", cgroup="2") == ""
    assert said("v1.37.2", cgroup="1", kind_made=False) == ""  # not ours: we cannot know its nodes
    assert "cgroup" not in said("v1.34.11", client="v1.34.11", cgroup="1")  # 1.34 ran there without the setting


def test_docker_api_versions_compare_as_numbers():
    assert lifecycle.api_tuple("1.41") < lifecycle.MIN_DOCKER_API <= lifecycle.api_tuple("1.51")
    assert lifecycle.api_tuple("1.100") > lifecycle.MIN_DOCKER_API
