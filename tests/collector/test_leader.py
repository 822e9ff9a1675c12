"""Which collector evaluates budgets and delivers reports: the smallest id online, once settled."""

from __future__ import annotations

from fleetprint.collector.budgets.leader import Leadership


def test_a_collector_evaluates_only_once_its_own_status_came_back_first() -> None:
    leader = Leadership("collector-b", settle_s=0)
    assert not leader.is_evaluator(), "before its own status, it has not read the announced alerts yet"
    leader.update("collector-c", online=False)  # another's Last Will first: not news, and no error
    leader.update("collector-b", online=False)  # its own earlier run's Last Will
    assert not leader.is_evaluator()
    leader.update("collector-b", online=True)
    assert leader.is_evaluator()
    leader.update("collector-a", online=True)  # a smaller id is online: it evaluates
    assert not leader.is_evaluator()
    leader.update("collector-a", online=False)
    assert leader.is_evaluator() and leader.online() == {"collector-b"}


def test_the_evaluator_waits_its_settling_time() -> None:
    leader = Leadership("collector-a", settle_s=3600)
    leader.update("collector-a", online=True)
    assert not leader.is_evaluator()
