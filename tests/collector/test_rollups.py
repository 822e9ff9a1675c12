"""Hourly and daily rollups per service, against sums computed here from the raw points, in the real InfluxDB."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from fleetprint.collector.rollups import SUMMED_FIELDS, Rollups
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.collector.store.lineprotocol import line

HOUR_MS, DAY_MS = 3_600_000, 86_400_000
T0 = 1_793_491_200_000  # 2026-11-01T00:00:00Z
STEP_MS = 600_000  # a sample every 10 minutes


def raw_points(start_ms: int, end_ms: int, seed: int) -> list[tuple[str, str, str, int, dict[str, float]]]:
    """(host, service, site, time, fields) for a small fleet, reproducibly random."""
    rng = random.Random(seed)
    fleet = [("h1", "paris"), ("h2", "paris"), ("h3", "lyon")]
    points = []
    for at in range(start_ms, end_ms, STEP_MS):
        for host, site in fleet:
            for service in ("web", "db"):
                fields = {field: rng.uniform(0.1, 10.0) for field in SUMMED_FIELDS}
                points.append((host, service, site, at, fields))
    return points


def write(sink: InfluxV1Sink, points) -> None:
    sink.write([line("fp_service", {"host": h, "service": s, "site": site}, fields, at)
                for h, s, site, at, fields in points])


def expected(points, period_ms: int, before_ms: int) -> dict[tuple[int, str, str], dict[str, float]]:
    sums: dict[tuple[int, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for _, service, site, at, fields in points:
        period = at - at % period_ms
        if period + period_ms <= before_ms:
            for field, value in fields.items():
                sums[(period, service, site)][field] += value
            sums[(period, service, site)]["samples"] += 1
    return sums


def stored(influxql: InfluxQL, measurement: str) -> dict[tuple[int, str, str], dict]:
    return {(row["time"], row["service"], row["site"]): row
            for row in influxql.query(f"SELECT * FROM {measurement} GROUP BY service, site")}


def assert_matches(got: dict, want: dict, period_ms: int) -> None:
    assert set(got) == set(want)
    for key, sums in want.items():
        for field in SUMMED_FIELDS:
            assert got[key][field] == pytest.approx(sums[field], rel=1e-9), (key, field)
        assert got[key]["samples"] == sums["samples"]
        assert got[key]["power_w"] == pytest.approx(sums["energy_wh"] / (period_ms / HOUR_MS), rel=1e-9)


def test_rollups_match_independent_sums_catch_up_and_take_late_samples(influxdb, influx_db) -> None:
    sink, influxql = InfluxV1Sink(influxdb.url, influx_db), InfluxQL(influxdb.url, influx_db)
    rollups = Rollups(influxql, sink, lag_s=0, settle_s=0)
    first = raw_points(T0, T0 + DAY_MS + 5 * HOUR_MS, seed=1)  # a day and 5 hours
    write(sink, first)
    now = T0 + DAY_MS + 5 * HOUR_MS + 30 * 60_000  # 05:30 on the second day
    assert rollups.run(now) > 0
    assert_matches(stored(influxql, "fp_service_1h"), expected(first, HOUR_MS, now), HOUR_MS)
    assert_matches(stored(influxql, "fp_service_1d"), expected(first, DAY_MS, now), DAY_MS)

    again = stored(influxql, "fp_service_1h")
    rollups.run(now)
    assert stored(influxql, "fp_service_1h") == again, "a second run writes the same points"

    # Downtime: three more hours of raw data arrive while no rollup runs, then one run catches up.
    more = raw_points(T0 + DAY_MS + 5 * HOUR_MS, T0 + DAY_MS + 8 * HOUR_MS, seed=2)
    write(sink, more)
    later = now + 3 * HOUR_MS
    rollups.run(later)
    assert_matches(stored(influxql, "fp_service_1h"), expected(first + more, HOUR_MS, later), HOUR_MS)

    # A service whose figures sum to whole numbers (JSON returns them as integers) keeps float fields.
    whole = [("h5", "idle", "paris", T0 + DAY_MS + 60_000 * m, {field: 0.0 for field in SUMMED_FIELDS})
             for m in range(3)]
    write(sink, whole)
    rollups.mark(whole[0][3])
    rollups.run(later)
    assert stored(influxql, "fp_service_1h")[(T0 + DAY_MS, "idle", "paris")]["energy_wh"] == 0
    more += whole

    # A late sample (an agent's backlog) for an hour of the first day is rolled up again once marked.
    late = [("h4", "web", "paris", T0 + 2 * HOUR_MS + 60_000, {field: 100.0 for field in SUMMED_FIELDS})]
    write(sink, late)
    rollups.mark(late[0][3])
    rollups.run(later)
    everything = first + more + late
    assert_matches(stored(influxql, "fp_service_1h"), expected(everything, HOUR_MS, later), HOUR_MS)
    assert_matches(stored(influxql, "fp_service_1d"), expected(everything, DAY_MS, later), DAY_MS)
