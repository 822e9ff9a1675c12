"""The collector's memory is bounded by itself: past `max_pending_points`, taking a message waits
for the writer, whatever the broker sends (it keeps the rest)."""

from __future__ import annotations

import threading

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.held import HeldMessage
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.assess import Assessor
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.ingest import Ingest
from fleetprint.collector.runner import Collector
from fleetprint.collector.settings import InfluxSettings
from fleetprint.collector.stats import Counters
from fleetprint.mqtt import Topics

BLOCKED_FOR_S = 0.5  # how long a blocked thread is given to (wrongly) get through


def _collector(max_pending: int) -> Collector:
    config = CollectorConfig(influxdb=InfluxSettings(batch_size=10, max_pending_points=max_pending))
    counters = Counters()
    assessor = Assessor(config.attribution, config.sites, GridFactors({}, {}, None))
    ingest = Ingest(HostRegistry(config), Topics(), counters, assessor)
    return Collector(config, sink=None, ingest=ingest, counters=counters)


def test_taking_a_message_waits_while_the_pending_points_are_at_the_bound() -> None:
    collector = _collector(max_pending=30)
    collector._add([f"m v={n}i {n}" for n in range(30)], HeldMessage("t", b"", 1, 1))
    added = threading.Event()
    second = threading.Thread(target=lambda: (collector._add(["m v=99i 99"], HeldMessage("t", b"", 2, 1)),
                                              added.set()))
    second.start()
    assert not added.wait(BLOCKED_FOR_S), "took a message past max_pending_points"
    batch = collector._take_batch(0)
    assert len(batch.lines) == 30 and batch.acks == [(1, 1)]
    assert added.wait(10), "the writer took the batch, yet the message still waits"
    second.join(10)
    assert collector._take_batch(0).lines == ["m v=99i 99"]


def test_a_closing_collector_never_waits() -> None:
    collector = _collector(max_pending=10)
    collector._add([f"m v={n}i {n}" for n in range(10)], HeldMessage("t", b"", 1, 1))
    collector._closing = True
    last = threading.Thread(target=collector._add, args=(["m v=1i 1"], HeldMessage("t", b"", 2, 1)), daemon=True)
    last.start()
    last.join(10)
    assert not last.is_alive(), "a closing collector waited for room"
    assert len(collector._take_batch(0).lines) == 11


def test_a_message_without_points_never_waits() -> None:
    """The writer's thread gives up held reports through _add: it must not wait for itself."""
    collector = _collector(max_pending=10)
    collector._add([f"m v={n}i {n}" for n in range(10)], HeldMessage("t", b"", 1, 1))
    given_up = threading.Thread(target=collector._add, args=([], HeldMessage("t", b"", 2, 1)), daemon=True)
    given_up.start()
    given_up.join(10)
    assert not given_up.is_alive(), "a message without points waited for room"
    assert collector._take_batch(0).acks == [(1, 1), (2, 1)]
