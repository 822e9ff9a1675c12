"""Line protocol formatting, read back by the real InfluxDB."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.lineprotocol import escape_tag, format_field, line
from fleetprint.timestamps import epoch_ms


def test_fields_by_type() -> None:
    assert format_field(3) == "3i"
    assert format_field(2.5) == "2.5"
    assert format_field(True) == "true"
    assert format_field('say "hi"\\') == '"say \\"hi\\"\\\\"'
    with pytest.raises(ValueError):
        format_field(float("nan"))


def test_empty_tags_and_none_fields_are_left_out() -> None:
    assert line("m", {"b": "2", "a": "1", "c": ""}, {"x": 1.0, "y": None}, 5) == "m,a=1,b=2 x=1.0 5"


def test_epoch_ms_is_utc() -> None:
    assert epoch_ms(datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=timezone.utc)) == 1500


@pytest.mark.parametrize(("site", "stored"), [
    ("paris dc1", "paris dc1"), ("a,b", "a,b"), ("k=v", "k=v"), ('quote"d', 'quote"d'),
    ("back\\slash", "back\\slash"), ("ends\\", "ends"), ("new\nline", "new line"), ("café Zürich", "café Zürich"),
    # A backslash before a separator cannot be stored there: left in, it would unescape the
    # separator and break the line and the rest of its batch.
    ('x\\ y\\="', 'x y="'), ("a\\\\,b", "a,b"), ("tab\\\tend\\\\", "tab end"),
])
def test_awkward_tag_values_reach_influxdb_intact(influxdb, influx_db, site: str, stored: str) -> None:
    sink = InfluxV1Sink(influxdb.url, influx_db)
    sink.write([line("fp_test", {"site": site, "host": "h"}, {"v": 1.0}, 1_700_000_000_000)])
    rows = influxdb.query("SELECT v, host, site FROM fp_test", influx_db)
    assert [(row["site"], row["host"], row["v"]) for row in rows] == [(stored, "h", 1.0)]
    assert escape_tag(site).count("\n") == 0
