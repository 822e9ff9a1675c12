"""Hourly and daily rollups per service, against sums computed here from the raw points, in the real InfluxDB."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timezone

import pytest

from fleetprint.collector.rollups import MAX_ATTEMPTS, MONITOR_FIELDS, RollupFailed, Rollups
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.collector.store.lineprotocol import line
from fleetprint.impacts import IMPACT_FIELDS

HOUR_MS, DAY_MS = 3_600_000, 86_400_000
T0 = 1_793_491_200_000  # 2026-11-01T00:00:00Z
STEP_MS = 600_000  # a sample every 10 minutes
DEPARTMENTS = {"h1": "finance"}  # the other hosts name none: their points carry no department tag


def raw_points(start_ms: int, end_ms: int, seed: int) -> list[tuple[str, str, str, int, dict[str, float]]]:
    """(host, service, site, time, fields) for a small fleet, reproducibly random."""
    rng = random.Random(seed)
    fleet = [("h1", "paris"), ("h2", "paris"), ("h3", "lyon")]
    points = []
    for at in range(start_ms, end_ms, STEP_MS):
        for host, site in fleet:
            for service in ("web", "db"):
                fields = {field: rng.uniform(0.1, 10.0) for field in IMPACT_FIELDS}
                points.append((host, service, site, at, fields))
    return points


def write(sink: InfluxV1Sink, points) -> None:
    sink.write([line("fp_service", {"host": h, "service": s, "site": site, "department": DEPARTMENTS.get(h, "")},
                     fields, at) for h, s, site, at, fields in points])


def expected(points, period_ms: int, before_ms: int) -> dict[tuple[int, str, str, str], dict[str, float]]:
    """Per (period, service, site, department): the rollup's fields summed here."""
    sums: dict[tuple[int, str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for host, service, site, at, fields in points:
        period = at - at % period_ms
        if period + period_ms <= before_ms:
            key = (period, service, site, DEPARTMENTS.get(host, ""))
            for field, value in fields.items():
                sums[key][field] += value
            sums[key]["samples"] += 1
    return sums


def stored(influxql: InfluxQL, measurement: str) -> dict[tuple[int, str, str, str], dict]:
    return {(row["time"], row["service"], row["site"], row["department"]): row
            for row in influxql.query(f"SELECT * FROM {measurement} GROUP BY service, site, department")}


def assert_matches(got: dict, want: dict, period_ms: int) -> None:
    assert set(got) == set(want)
    for key, sums in want.items():
        for field in IMPACT_FIELDS:
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
    whole = [("h5", "idle", "paris", T0 + DAY_MS + 60_000 * m, {field: 0.0 for field in IMPACT_FIELDS})
             for m in range(3)]
    write(sink, whole)
    rollups.mark(whole[0][3])
    rollups.run(later)
    assert stored(influxql, "fp_service_1h")[(T0 + DAY_MS, "idle", "paris", "")]["energy_wh"] == 0
    more += whole

    # A late sample (an agent's backlog) for an hour of the first day is rolled up again once marked.
    late = [("h4", "web", "paris", T0 + 2 * HOUR_MS + 60_000, {field: 100.0 for field in IMPACT_FIELDS})]
    write(sink, late)
    rollups.mark(late[0][3])
    rollups.run(later)
    everything = first + more + late
    assert_matches(stored(influxql, "fp_service_1h"), expected(everything, HOUR_MS, later), HOUR_MS)
    assert_matches(stored(influxql, "fp_service_1d"), expected(everything, DAY_MS, later), DAY_MS)


HOST_FLEET = (("h1", "server", "paris", "FRA"), ("h2", "laptop", "paris", "FRA"), ("h3", "vm", "lyon", "DEU"))


def host_points(start_ms: int, end_ms: int, seed: int) -> list[tuple[dict[str, str], dict, int]]:
    """(tags, fields, time) of fp_host points: h2 switches power source at noon and drives monitors, h3
    passes its lifetime on the second day, h1's first sample of each hour carries samples its agent dropped."""
    rng = random.Random(seed)
    points = []
    for at in range(start_ms, end_ms, STEP_MS):
        for host, kind, site, zone in HOST_FLEET:
            source = "battery" if host == "h2" and at % DAY_MS >= 12 * HOUR_MS else "modelled"
            fields = {field: rng.uniform(0.1, 10.0) for field in IMPACT_FIELDS}
            fields.update(interval_s=600.0, pue=rng.choice((1.0, 1.4)), gwp_gco2e_per_kwh=rng.uniform(20, 400),
                          grid_source=rng.choice(("boavizta", "live")) if host == "h1" else "site",
                          past_lifetime=host == "h3" and at >= T0 + DAY_MS,
                          power_model="specpower_fit" if at % DAY_MS < 12 * HOUR_MS else "specpower_published")
            if host != "h2":  # a device without usage counters has no CPU figure
                fields["cpu_util_pct"] = rng.uniform(0, 100)
            else:  # a workstation with external monitors
                fields["monitor_energy_wh"] = rng.uniform(0.1, 1.0)
            if host == "h1" and at % HOUR_MS == 0:
                fields["agent_dropped_samples"] = rng.randint(0, 5)
            monitors = {}
            if host == "h2":
                fields.update({field: rng.uniform(0.01, 1.0) for field in MONITOR_FIELDS})
                monitors = {"monitor_embodied_source": "declared+fitted"}
            points.append(({"host": host, "kind": kind, "site": site, "zone": zone, "power_source": source,
                            "embodied_source": "boavizta" if kind == "vm" else "fitted", **monitors,
                            **({"department": DEPARTMENTS[host]} if host in DEPARTMENTS else {})}, fields, at))
    return points


def host_key(tags: dict[str, str]) -> tuple[str, ...]:
    return tuple(tags.get(tag, "") for tag in ("host", "kind", "site", "zone", "power_source", "department",
                                               "embodied_source", "monitor_embodied_source"))


def host_expected(points, before_ms: int) -> dict[tuple, dict]:
    """Per (day, host, kind, site, zone, power_source, department): the rollup's fields summed here."""
    days: dict[tuple, dict] = {}
    for tags, fields, at in points:
        day = at - at % DAY_MS
        if day + DAY_MS > before_ms:
            continue
        sums = days.setdefault((day, *host_key(tags)), defaultdict(float, gwp_min=1e9, gwp_max=-1e9, pue_min=1e9,
                                                                   pue_max=-1e9, grid=set()))
        for field in (*IMPACT_FIELDS, *MONITOR_FIELDS, "interval_s", "agent_dropped_samples"):
            sums[field] += fields.get(field, 0)
        sums["samples"] += 1
        if "cpu_util_pct" in fields:
            sums["cpu_sum"] += fields["cpu_util_pct"]
            sums["cpu_samples"] += 1
        if "power_model" in fields and at >= sums.get("model_at", -1):
            sums["model_at"], sums["power_model"] = at, fields["power_model"]
        sums["gwp_sum"] += fields["gwp_gco2e_per_kwh"]
        sums["gwp_min"], sums["gwp_max"] = (min(sums["gwp_min"], fields["gwp_gco2e_per_kwh"]),
                                            max(sums["gwp_max"], fields["gwp_gco2e_per_kwh"]))
        sums["pue_min"], sums["pue_max"] = min(sums["pue_min"], fields["pue"]), max(sums["pue_max"], fields["pue"])
        sums["grid"].add(fields["grid_source"])
        if fields["past_lifetime"]:
            sums["past_wh"] += fields["energy_wh"]
            sums["past_samples"] += 1
    return days


def assert_host_days(influxql: InfluxQL, want: dict) -> None:
    got = {(row["time"], *host_key(row)): row for row in influxql.query("SELECT * FROM fp_host_1d GROUP BY *")}
    assert set(got) == set(want)
    for key, sums in want.items():
        row = got[key]
        for field in (*IMPACT_FIELDS, *MONITOR_FIELDS, "interval_s"):
            assert row[field] == pytest.approx(sums[field], rel=1e-9), (key, field)
        assert row["power_w"] == pytest.approx(sums["energy_wh"] / 24, rel=1e-9)
        assert (row["samples"], row["agent_dropped_samples"], row["past_lifetime_samples"]) == (
            sums["samples"], sums["agent_dropped_samples"], sums["past_samples"]), key
        assert row["past_lifetime_energy_wh"] == pytest.approx(sums["past_wh"], rel=1e-9, abs=1e-12), key
        assert row["gwp_gco2e_per_kwh_sum"] == pytest.approx(sums["gwp_sum"], rel=1e-9)
        assert (row["gwp_gco2e_per_kwh_min"], row["gwp_gco2e_per_kwh_max"]) == (sums["gwp_min"], sums["gwp_max"])
        assert (row["pue_min"], row["pue_max"]) == (sums["pue_min"], sums["pue_max"])
        assert row["grid_sources"] == ",".join(sorted(sums["grid"]))
        assert row["cpu_util_pct_sum"] == pytest.approx(sums["cpu_sum"], rel=1e-9, abs=1e-12), key
        assert (row["cpu_util_samples"], row["power_model"]) == (sums["cpu_samples"], sums.get("power_model")), key


def assert_fleet_hours(influxql: InfluxQL, points, before_ms: int) -> None:
    """fp_fleet_1h: per hour, site, department, kind and power source, the sums of the fp_host points."""
    want: dict[tuple, dict] = {}
    for tags, fields, at in points:
        hour = at - at % HOUR_MS
        if hour + HOUR_MS <= before_ms:
            key = (hour, *(tags.get(tag, "") for tag in ("site", "department", "kind", "power_source")))
            sums = want.setdefault(key, defaultdict(float))
            for field in (*IMPACT_FIELDS, "monitor_energy_wh"):
                sums[field] += fields.get(field, 0.0)
            sums["samples"] += 1
    got = {(row["time"], row["site"], row["department"], row["kind"], row["power_source"]): row
           for row in influxql.query("SELECT * FROM fp_fleet_1h GROUP BY *")}
    assert set(got) == set(want)
    for key, sums in want.items():
        for field in IMPACT_FIELDS:
            assert got[key][field] == pytest.approx(sums[field], rel=1e-9), (key, field)
        assert got[key]["monitor_energy_wh"] == pytest.approx(sums["monitor_energy_wh"], rel=1e-9, abs=1e-12)
        assert got[key]["samples"] == sums["samples"]
        assert got[key]["power_w"] == pytest.approx(sums["energy_wh"], rel=1e-9)  # energy over one hour


def test_host_daily_rollup_matches_independent_sums_per_host_and_day_and_takes_late_samples(
        influxdb, influx_db) -> None:
    sink, influxql = InfluxV1Sink(influxdb.url, influx_db), InfluxQL(influxdb.url, influx_db)
    rollups = Rollups(influxql, sink, lag_s=0, settle_s=0)
    first = host_points(T0, T0 + 2 * DAY_MS + 3 * HOUR_MS, seed=3)  # two days and 3 hours
    sink.write([line("fp_host", tags, fields, at) for tags, fields, at in first])
    now = T0 + 2 * DAY_MS + 3 * HOUR_MS
    assert rollups.rolled_up_to() is None
    # 2 days × (h1, h2 modelled, h2 battery, h3), and 51 hours × 3 groups (h2's source is one at a time)
    assert rollups.run(now) == 8 + 51 * 3
    assert rollups.rolled_up_to() == datetime.fromtimestamp((now // DAY_MS * DAY_MS) / 1000, timezone.utc)
    assert_host_days(influxql, host_expected(first, now))
    assert_fleet_hours(influxql, first, now)
    before = influxql.query("SELECT * FROM fp_host_1d GROUP BY *")
    rollups.run(now)
    assert influxql.query("SELECT * FROM fp_host_1d GROUP BY *") == before, "a second run writes the same points"

    # Late samples for the first day (an agent's backlog): a new host, and h1 with dropped samples, a new
    # extreme factor and a new grid source; the day is rolled up again once marked.
    late = [({"host": "h4", "kind": "desktop", "site": "lyon", "zone": "DEU", "power_source": "wall",
              "embodied_source": "declared"},
             {**{field: 3.0 for field in IMPACT_FIELDS}, "interval_s": 600.0, "pue": 1.0, "gwp_gco2e_per_kwh": 50.0,
              "grid_source": "site", "past_lifetime": True}, T0 + 5 * HOUR_MS + 60_000),
            ({"host": "h1", "kind": "server", "site": "paris", "zone": "FRA", "power_source": "modelled",
              "embodied_source": "fitted"},
             {**{field: 100.0 for field in IMPACT_FIELDS}, "interval_s": 600.0, "pue": 2.0, "gwp_gco2e_per_kwh": 1.0,
              "grid_source": "profile", "past_lifetime": False, "agent_dropped_samples": 7}, T0 + 7 * HOUR_MS + 1)]
    sink.write([line("fp_host", tags, fields, at) for tags, fields, at in late])
    for _, _, at in late:
        rollups.mark(at)
    later = now + HOUR_MS
    rollups.run(later)
    assert_host_days(influxql, host_expected(first + late, later))
    assert_fleet_hours(influxql, first + late, later)


def test_a_period_that_fails_never_blocks_the_others_and_is_given_up(influxdb, influx_db, caplog) -> None:
    """A sample dated 1600 once made its period's InfluxQL overflow at every run, and every rollup
    stopped with it (the collector now refuses such samples; the rollups must not depend on it)."""
    sink, influxql = InfluxV1Sink(influxdb.url, influx_db), InfluxQL(influxdb.url, influx_db)
    rollups = Rollups(influxql, sink, lag_s=0, settle_s=0)
    points = raw_points(T0, T0 + 3 * HOUR_MS, seed=3)
    write(sink, points)
    now = T0 + 3 * HOUR_MS
    year_1600_ms = -11_676_096_000_000
    rollups.mark(year_1600_ms)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with pytest.raises(RollupFailed) as failed:
            rollups.run(now)
        assert failed.value.written > 0 if attempt == 1 else True
        assert_matches(stored(influxql, "fp_service_1h"), expected(points, HOUR_MS, now), HOUR_MS)
        assert rollups.rolled_up_to() is None, "a run that failed somewhere says nothing is complete"
    assert "gave up rolling up fp_service_1h" in caplog.text
    late = [("h4", "web", "paris", T0 + 60_000, {field: 1.0 for field in IMPACT_FIELDS})]
    write(sink, late)
    rollups.mark(late[0][3])
    assert rollups.run(now) > 0, "given up, the bad period no longer fails the runs"
    assert_matches(stored(influxql, "fp_service_1h"), expected(points + late, HOUR_MS, now), HOUR_MS)
