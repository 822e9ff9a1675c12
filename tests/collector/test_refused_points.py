"""A point InfluxDB refuses costs that point alone: the collector bisects the refused chunk down to
it, counts it by reason and stores the rest (against a real InfluxDB)."""

from __future__ import annotations

import threading

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.hosts import HostRegistry
from fleetprint.collector.impact.assess import Assessor
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.ingest import Ingest
from fleetprint.collector.runner import Collector
from fleetprint.collector.settings import InfluxSettings
from fleetprint.collector.stats import Counters
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.sink import refusal, refusal_reason
from fleetprint.mqtt import Topics

T0 = 1_790_000_000_000


def _collector(sink: InfluxV1Sink) -> Collector:
    config = CollectorConfig(influxdb=InfluxSettings(batch_size=5000))
    counters = Counters()
    assessor = Assessor(config.attribution, config.sites, GridFactors({}, {}, None))
    ingest = Ingest(HostRegistry(config), Topics(), counters, assessor)
    return Collector(config, sink=sink, ingest=ingest, counters=counters)


def _stored_hosts(influxdb, database: str) -> list[str]:
    return sorted(row["host"] for row in influxdb.query("SELECT v, host FROM fp_test", database))


def test_a_line_that_swallows_its_chunk_costs_only_itself(influxdb, influx_db) -> None:
    """The line an earlier escaping wrote for the service `x\\ y\\="`: InfluxDB 1.x reads its quote as
    the start of a string that swallows the lines after it, and refuses the whole request (alone,
    it reads as an odd point of its own)."""
    good = [f"fp_test,host=h{n:02d} v={n}.0 {T0 + n}" for n in range(40)]
    swallowing = 'fp_test,host=bad,service=x\\\\ y\\\\=" v=1.0 ' + str(T0)
    collector = _collector(InfluxV1Sink(influxdb.url, influx_db))
    assert collector._write_chunk(good[:17] + [swallowing] + good[17:], threading.Event())
    assert set(_stored_hosts(influxdb, influx_db)) >= {f"h{n:02d}" for n in range(40)}
    assert collector.counters.get("writes_split") > 0


def test_an_unparsable_point_is_refused_alone_and_counted(influxdb, influx_db) -> None:
    good = [f"fp_test,host=h{n:02d} v={n}.0 {T0 + n}" for n in range(40)]
    collector = _collector(InfluxV1Sink(influxdb.url, influx_db))
    assert collector._write_chunk(good[:17] + [f"fp_test,host=bad v= {T0}"] + good[17:], threading.Event())
    assert _stored_hosts(influxdb, influx_db) == [f"h{n:02d}" for n in range(40)]
    counts = collector.counters.snapshot()
    assert counts["points_refused"] == counts["points_refused_unparsable"] == 1
    assert counts["points_written"] == 40


def test_a_type_conflict_is_counted_under_its_own_reason(influxdb, influx_db) -> None:
    collector = _collector(InfluxV1Sink(influxdb.url, influx_db))
    assert collector._write_chunk([f"fp_test,host=a v=1.0 {T0}"], threading.Event())
    assert collector._write_chunk([f"fp_test,host=b v=2.0 {T0}", f'fp_test,host=c v="text" {T0}',
                                   f"fp_test,host=d v=4.0 {T0}"], threading.Event())
    assert _stored_hosts(influxdb, influx_db) == ["a", "b", "d"]
    counts = collector.counters.snapshot()
    assert counts["points_refused"] == counts["points_refused_type_conflict"] == 1
    assert counts["points_written"] == 3
    assert "writes_split" not in counts, "a partial write says how many it dropped: nothing to bisect"


def test_refusal_reasons_from_influxdb_messages() -> None:
    assert refusal_reason('unable to parse \'fp_host,host=a v=\': missing field value') == "unparsable"
    assert refusal_reason("partial write: field type conflict: input field \"v\" on measurement \"m\" "
                          "is type string, already exists as type float dropped=1") == "type_conflict"
    assert refusal_reason("partial write: max-series-per-database limit exceeded: (10) dropped=3") == "series_limit"
    assert refusal_reason("partial write: points beyond retention policy dropped=1") == "beyond_retention"
    assert refusal_reason("something new") == "refused"


def test_a_partial_write_says_how_many_it_dropped_but_a_parse_error_does_not() -> None:
    assert refusal("x", "partial write: points beyond retention policy dropped=4").dropped == 4
    assert refusal("x", "partial write: unable to parse 'm v=': missing field value dropped=0").dropped is None
    assert refusal("x", "something else").dropped is None
