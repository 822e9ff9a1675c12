"""The forwarder sleeps until there is work: woken by a queued sample and by an acknowledgement,
with a timeout only for a deadline it waits for (back-off, rate limit), never to poll.

The forwarder runs in the test's thread with a scripted condition: each wait records its
timeout and runs the test's next event, which changes the world as another thread would (the
sampler queues a sample, the broker acknowledges, time passes) instead of blocking.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from fleetprint.agent.buffer import SampleBuffer
from fleetprint.agent.forwarder import Forwarder
from fleetprint.agent.publisher import Delivery
from fleetprint.agent.state import SequenceFile
from fleetprint.schema import Report, Sample

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class BrokerStandIn:
    """The publisher's side the forwarder sees: a connection, reports sent, their outcomes."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.connected.set()
        self.on_event: Callable[[], None] = lambda: None
        self.sent: list[Report] = []
        self._outcomes: dict[int, Delivery] = {}

    def publish_report(self, report: Report) -> int:
        self.sent.append(report)
        return len(self.sent)

    def answer(self, mid: int, delivery: Delivery) -> None:
        self._outcomes[mid] = delivery
        self.on_event()

    def report_outcome(self, mid: int) -> Delivery | None:
        return self._outcomes.pop(mid, None)


class ScriptedCondition:
    """Stands for the forwarder's threading.Condition: a wait runs the next event."""

    def __init__(self) -> None:
        self.events: list[Callable[[], None]] = []
        self.timeouts: list[float | None] = []

    def __enter__(self) -> ScriptedCondition:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def notify(self) -> None:
        pass

    def wait(self, timeout: float | None = None) -> bool:
        self.timeouts.append(timeout)
        self.events.pop(0)()
        return True


@pytest.fixture
def rig(tmp_path: Path):
    clock, broker, condition = FakeClock(), BrokerStandIn(), ScriptedCondition()
    buffer = SampleBuffer(tmp_path / "buffer.sqlite3", 1000)
    forwarder = Forwarder(buffer, broker, SequenceFile(tmp_path / "seq"), "quiet-host", max_samples_per_report=1,
                          max_in_flight=20, max_reports_per_s=10.0, clock=clock, condition=condition)
    yield forwarder, buffer, broker, condition, clock
    buffer.close()


def queue(forwarder: Forwarder, buffer: SampleBuffer, count: int = 1) -> None:
    """What the agent's sampling job does: samples on disk, then wake the forwarder."""
    first = len(buffer)
    for i in range(first, first + count):
        buffer.put(Sample(ts=T0 + timedelta(seconds=30 * i), interval_s=30.0, cpu_util_pct=5.0))
    forwarder.wake()


def test_wakes_on_a_queued_sample_and_on_its_acknowledgement_only(rig) -> None:
    forwarder, buffer, broker, condition, clock = rig
    seen = []

    def look() -> None:
        seen.append((len(broker.sent), len(buffer)))

    def next_interval() -> None:
        clock.now += 30.0
        queue(forwarder, buffer)

    condition.events = [
        lambda: (look(), next_interval()),  # idle, then a sample is taken
        lambda: (look(), broker.answer(1, Delivery.ACCEPTED)),  # its report is out: the PUBACK comes
        lambda: (look(), next_interval()),
        lambda: (look(), broker.answer(2, Delivery.ACCEPTED)),
        lambda: (look(), forwarder.stop()),
    ]
    forwarder.run()
    # (reports sent, samples on disk) each time it slept: sent when queued, deleted when acknowledged
    assert seen == [(0, 0), (1, 1), (1, 0), (2, 1), (2, 0)]
    assert condition.timeouts == [None] * 5, "an idle forwarder sleeps with no timeout: only an event wakes it"
    assert forwarder.wakeups == 5, "one wake-up per event"


def test_a_disconnected_forwarder_waits_for_the_connection(rig) -> None:
    forwarder, buffer, broker, condition, clock = rig
    broker.connected.clear()

    def connect() -> None:
        broker.connected.set()
        broker.on_event()

    condition.events = [lambda: queue(forwarder, buffer), connect, forwarder.stop]
    forwarder.run()
    assert condition.timeouts == [None, None, None]
    assert len(broker.sent) == 1


def test_a_back_off_and_the_rate_limit_are_the_only_timeouts(rig) -> None:
    forwarder, buffer, broker, condition, clock = rig

    def time_passes() -> None:  # the wait times out: no notify
        clock.now += condition.timeouts[-1]

    condition.events = [
        lambda: queue(forwarder, buffer, 2),  # two samples: two reports, 0.1 s apart at 10 reports/s
        time_passes,
        lambda: broker.answer(1, Delivery.NO_SUBSCRIBER),  # nobody took the first: back off 2 s
        lambda: broker.answer(2, Delivery.ACCEPTED),
        time_passes,  # the back-off ends: the first sample goes again
        lambda: broker.answer(3, Delivery.ACCEPTED),
        forwarder.stop,
    ]
    forwarder.run()
    assert condition.timeouts == [None, pytest.approx(0.1), None, pytest.approx(2.0), pytest.approx(2.0), None, None]
    assert [r.samples[0].ts for r in broker.sent] == [T0, T0 + timedelta(seconds=30), T0]
    assert len(buffer) == 0


def test_a_burst_refused_at_once_doubles_the_back_off_once(rig) -> None:
    """After a broker restart every report in flight comes back unsubscribed: one try, not one per report
    (doubled per report, 20 in flight paused the agent 60 s)."""
    forwarder, buffer, broker, condition, clock = rig

    def time_passes() -> None:
        clock.now += condition.timeouts[-1]

    def refuse(*mids: int) -> Callable[[], None]:
        return lambda: [broker.answer(mid, Delivery.NO_SUBSCRIBER) for mid in mids]

    condition.events = [
        lambda: queue(forwarder, buffer, 3),
        time_passes, time_passes,  # three reports in flight, at 10 reports/s
        refuse(1, 2, 3),  # the first try: 2 s
        time_passes, time_passes, time_passes,  # the back-off ends: the three go again
        refuse(4, 5, 6),  # the second try: 4 s
        forwarder.stop,
    ]
    forwarder.run()
    assert condition.timeouts == [None, pytest.approx(0.1), pytest.approx(0.1), None, pytest.approx(2.0),
                                  pytest.approx(0.1), pytest.approx(0.1), None, pytest.approx(4.0)]
    assert len(broker.sent) == 6 and len(buffer) == 3
