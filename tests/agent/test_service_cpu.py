"""CPU time per service measured by the agent's process scan, against real processes."""

from __future__ import annotations

import time

import pytest
from burners import cpu_seconds, start_burner, start_spawner, stop

from fleetprint.agent.service_cpu import ServiceCpu
from fleetprint.agent.services import Classifier, ServiceRule, ServiceSettings

WINDOW_S = 6.0


def measure(classifier: Classifier, seconds: float) -> dict[str, float]:
    """CPU seconds per service over `seconds`, scanning every second as the agent would."""
    scanner = ServiceCpu(classifier)
    totals: dict[str, float] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1.0)  # the scan interval being tested
        for service, used in scanner.scan().items():
            totals[service] = totals.get(service, 0.0) + used
    return totals


def test_shares_follow_the_cpu_each_service_burns() -> None:
    classifier = Classifier(ServiceSettings(rule=[ServiceRule("alpha", cmdline="burner-alpha"),
                                                 ServiceRule("beta", cmdline="burner-beta")]))
    alphas = [start_burner("burner-alpha", 0.3), start_burner("burner-alpha", 0.3)]
    beta = start_burner("burner-beta", 0.3)
    try:
        scanner = ServiceCpu(classifier)
        before = {p.pid: cpu_seconds(p) for p in (*alphas, beta)}
        time.sleep(WINDOW_S)
        measured = scanner.scan()
        truth_alpha = sum(cpu_seconds(p) - before[p.pid] for p in alphas)
        truth_beta = cpu_seconds(beta) - before[beta.pid]
    finally:
        stop(*alphas, beta)
    # The scan counts what the processes' own counters say, to within a scheduler tick each.
    assert measured["alpha"] == pytest.approx(truth_alpha, abs=0.1)
    assert measured["beta"] == pytest.approx(truth_beta, abs=0.1)
    # And the intended 2:1 proportion holds within 25 % on a busy 2-core machine.
    assert measured["alpha"] / measured["beta"] == pytest.approx(2.0, rel=0.25)


def test_short_lived_children_count_for_their_parents_service() -> None:
    """Children that start and end between two scans show up in the parent's children time."""
    classifier = Classifier(ServiceSettings(rule=[ServiceRule("gamma", cmdline="spawner-gamma"),
                                                 ServiceRule("gamma-seen-child", cmdline="short-lived-child")]))
    spawner = start_spawner("spawner-gamma", 0.1)
    try:
        scanner = ServiceCpu(classifier)
        before = cpu_seconds(spawner, with_children=True)
        totals: dict[str, float] = {}
        for _ in range(int(WINDOW_S)):
            time.sleep(1.0)
            for service, used in scanner.scan().items():
                totals[service] = totals.get(service, 0.0) + used
        truth = cpu_seconds(spawner, with_children=True) - before
    finally:
        stop(spawner)
    counted = totals.get("gamma", 0.0) + totals.get("gamma-seen-child", 0.0)
    assert truth > 1.0, "the children burned CPU"
    assert totals.get("gamma", 0.0) > 0.5 * truth, "most children were never seen by a scan"
    # Seen or not, each child's time is counted once (less the one still running at the end).
    assert counted == pytest.approx(truth, abs=0.25)


def test_a_reused_pid_is_a_new_process(tmp_path) -> None:
    """Processes are keyed by (pid, start time): a new process never inherits an old baseline."""
    classifier = Classifier(ServiceSettings(rule=[ServiceRule("delta", cmdline="burner-delta")]))
    scanner = ServiceCpu(classifier)
    first = start_burner("burner-delta", 0.5)
    time.sleep(1.5)
    stop(first)
    second = start_burner("burner-delta", 0.5)
    try:
        time.sleep(1.5)
        truth = cpu_seconds(second)
        measured = scanner.scan().get("delta", 0.0)
    finally:
        stop(second)
    assert measured >= truth - 0.05, "the second process counts from its start"
