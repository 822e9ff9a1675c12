"""Process rules: each criterion, first match wins, the catch-all."""

from __future__ import annotations

from fleetprint.agent.services import Classifier, ProcessFacts, ServiceRule, ServiceSettings

DOCKER_ID = "3f2a9c" + "0" * 58
POD_CGROUP = (f"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
              f"cri-containerd-{DOCKER_ID}.scope")


def facts(name="java", exe="/usr/bin/java", cmdline="java -jar /opt/payroll/payroll.jar", user="payroll",
          cgroup="0::/system.slice/payroll.service") -> ProcessFacts:
    return ProcessFacts(name, exe, cmdline, user, cgroup)


def classifier(*rules: ServiceRule) -> Classifier:
    return Classifier(ServiceSettings(rule=list(rules), catch_all="other"))


def test_each_criterion() -> None:
    assert classifier(ServiceRule("payroll", exe="java")).service_of(facts()) == "payroll"
    assert classifier(ServiceRule("payroll", exe="jav*")).service_of(facts(name="x")) == "payroll"  # exe file name
    assert classifier(ServiceRule("payroll", cmdline=r"payroll\.jar")).service_of(facts()) == "payroll"
    assert classifier(ServiceRule("payroll", user="payroll")).service_of(facts()) == "payroll"
    assert classifier(ServiceRule("payroll", systemd_unit="payroll*.service")).service_of(facts()) == "payroll"
    assert classifier(ServiceRule("portal", cgroup="kubepods.*pod1234")).service_of(facts(cgroup=POD_CGROUP)) == "portal"
    assert classifier(ServiceRule("portal", container_id="3f2a")).service_of(facts(cgroup=POD_CGROUP)) == "portal"


def test_all_criteria_of_a_rule_must_hold_and_the_first_rule_wins() -> None:
    rules = classifier(ServiceRule("payroll-batch", exe="java", user="batch"),
                       ServiceRule("payroll", exe="java"), ServiceRule("java-anything", exe="java"))
    assert rules.service_of(facts()) == "payroll"
    assert rules.service_of(facts(user="batch")) == "payroll-batch"
    assert rules.service_of(facts(name="nginx", exe="/usr/sbin/nginx")) == "other"


def test_units_and_containers_from_cgroup_paths() -> None:
    assert facts().systemd_unit == "payroll.service"
    assert facts(cgroup=f"0::/system.slice/docker-{DOCKER_ID}.scope").container_id == DOCKER_ID
    assert facts(cgroup=POD_CGROUP).container_id == DOCKER_ID
    assert facts(cgroup="0::/user.slice/user-1000.slice/session-2.scope").systemd_unit == "session-2.scope"
    assert facts(cgroup="").systemd_unit == "" and facts(cgroup="").container_id == ""
