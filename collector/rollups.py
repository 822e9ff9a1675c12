"""Rollups per service (hourly and daily), per host (daily) and per site, department, kind and power
source (hourly), so that dashboards and reports over a year stay fast.

`fp_service_1h` and `fp_service_1d` (tags `service`, `site`, `department`) hold, per period, the sums over
all hosts of the impact set from `fp_service` (energy and impacts: `IMPACT_FIELDS`, fleetprint/impacts.py),
the mean power over the period (`power_w` = energy / period) and the number of samples. `fp_host_1d`
holds, per UTC day and `fp_host` series (tags `host`, `kind`, `site`, `department`, `zone`,
`power_source`, `embodied_source`, `monitor_embodied_source`), the same sums plus the monitors' part
of the embodied impacts and what the report's host sections read: seconds covered, samples
dropped by the agent, energy past the hardware's lifetime, the electricity factors and PUE seen
(docs/storage.md). `fp_fleet_1h` holds, per UTC hour and `FLEET_TAGS` group, the impact set's sums
over `fp_host` points, the mean power and the number of samples: what the dashboards' fleet panels read.

A run recomputes every period from the last one rolled up (catching up after downtime) to the
last complete one, plus the older periods that received late samples since the last run (an
agent's backlog after an outage; a mark waits `settle_s` so that the sample behind it has been
written). Rollup points overwrite themselves, so a run repeated, or run by several collectors,
writes the same figures. They are written through their own sink and read in the InfluxQL
client's `rollup_retention_policy` (docs/storage.md, "Retention"), so that they can be kept
longer than the raw points they sum.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.collector.store.lineprotocol import line
from fleetprint.collector.store.points import HOST_MEASUREMENT, SERVICE_MEASUREMENT
from fleetprint.collector.store.sink import Sink
from fleetprint.impacts import IMPACT_FIELDS

log = logging.getLogger(__name__)
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
HOST_TAGS = ("department", "host", "kind", "site", "zone", "power_source", "embodied_source", "monitor_embodied_source")
MONITOR_FIELDS = ("monitor_embodied_gwp_gco2e", "monitor_embodied_adp_kgsbeq", "monitor_embodied_pe_mj")
SERVICE_TAGS = ("department", "service", "site")
FLEET_TAGS = ("department", "kind", "power_source", "site")
MAX_ATTEMPTS = 5  # a late period whose rollup fails this many times is given up


class RollupFailed(Exception):
    """Some ranges could not be rolled up this run; the others were (`written` points)."""

    def __init__(self, message: str, written: int) -> None:
        super().__init__(message)
        self.written = written


@dataclass(frozen=True)
class Level:
    name: str  # the rollup measurement
    source: str  # the raw measurement it sums
    period_ms: int
    group: str  # the period in InfluxQL
    periods_per_query: int  # at most this many periods per query (bounds a catch-up's queries)


# A day of raw points is hosts × samples a day (2.9 million for 1,000 hosts at 30 s, more per
# service): a catch-up reads at most a day per query, so that no query runs into the timeout.
LEVELS = (Level("fp_service_1h", SERVICE_MEASUREMENT, HOUR_MS, "1h", 24),
          Level("fp_service_1d", SERVICE_MEASUREMENT, DAY_MS, "1d", 1),
          Level("fp_host_1d", HOST_MEASUREMENT, DAY_MS, "1d", 1),
          Level("fp_fleet_1h", HOST_MEASUREMENT, HOUR_MS, "1h", 24))


def _float(value: float | int | None) -> float | None:
    """JSON gives a whole-number float back as an int: keep the fields' float type."""
    return None if value is None else float(value)


class Rollups:
    """Computes rollups from raw points through InfluxQL and writes them through `sink`, which writes
    where `influxql` reads them (its rollup retention policy)."""

    def __init__(self, influxql: InfluxQL, sink: Sink, lag_s: float = 120.0, settle_s: float = 10.0) -> None:
        self.influxql = influxql
        self.sink = sink
        self.lag_ms = int(lag_s * 1000)
        self.settle_s = settle_s
        self._late: dict[str, dict[int, float]] = {level.name: {} for level in LEVELS}  # period -> marked at
        self._attempts: dict[tuple[str, int], int] = {}  # failed late periods: attempts so far
        self._rolled_before_ms: int | None = None  # every level's periods before it rolled up by the last clean run
        self._lock = threading.Lock()

    def mark(self, sample_ms: int) -> None:
        """A sample at `sample_ms` is being stored: its periods need (re)computing."""
        now = time.monotonic()
        with self._lock:
            for level in LEVELS:
                self._late[level.name][sample_ms - sample_ms % level.period_ms] = now

    def run(self, now_ms: int | None = None) -> int:
        """Recompute what is due; returns the number of rollup points written.

        A range that fails is tried again at the next runs (at most MAX_ATTEMPTS times, then
        given up with an error) and never keeps the other ranges from being rolled up; the run
        raises RollupFailed after doing all it could.
        """
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        settled_before = time.monotonic() - self.settle_s
        written, failures, ends = 0, [], []
        for level in LEVELS:
            complete_before = (now_ms - self.lag_ms) // level.period_ms * level.period_ms
            ends.append(complete_before)
            with self._lock:
                pending = self._late[level.name]
                late = {p for p, marked in pending.items() if p < complete_before and marked <= settled_before}
                for period in late:
                    del pending[period]
            try:
                starts = self._due(level, complete_before) | late
            except Exception as exc:  # the database may be down: the late periods wait for the next run
                self._retry(level, late, exc, failures)
                continue
            for begin, end in _ranges(sorted(starts), level.period_ms, level.periods_per_query):
                try:
                    written += self._write(level, begin, end, self._compute(level, begin, end))
                except Exception as exc:
                    self._retry(level, {p for p in late if begin <= p < end}, exc, failures)
                else:
                    for period in range(begin, end, level.period_ms):
                        self._attempts.pop((level.name, period), None)
        if failures:
            more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
            raise RollupFailed("; ".join(failures[:5]) + more, written)
        with self._lock:
            self._rolled_before_ms = min(ends)
        return written

    def rolled_up_to(self) -> datetime | None:
        """Every level's periods that end by then are rolled up (by the last run that failed nowhere); None
        before such a run. What waits for whole days of rollups (the scheduled reports) waits for this."""
        with self._lock:
            ms = self._rolled_before_ms
        return None if ms is None else datetime.fromtimestamp(ms / 1000, timezone.utc)

    def _retry(self, level: Level, periods: set[int], exc: Exception, failures: list[str]) -> None:
        """Mark late periods of a failed range for the next run, or give them up after MAX_ATTEMPTS."""
        failures.append(f"{level.name}: {exc}")
        with self._lock:
            for period in periods:
                attempts = self._attempts[(level.name, period)] = self._attempts.get((level.name, period), 0) + 1
                if attempts < MAX_ATTEMPTS:
                    self._late[level.name].setdefault(period, 0.0)
                else:
                    del self._attempts[(level.name, period)]
                    log.error("gave up rolling up %s for the period starting at %s after %d attempts: %s",
                              level.name, _iso(period), attempts, exc)

    def _due(self, level: Level, complete_before: int) -> set[int]:
        """Periods from the last rolled up (or the first raw sample) to the last complete one."""
        last = self.influxql.query(f"SELECT last(energy_wh) FROM {self.influxql.rollup(level.name)}")
        if last:
            start = last[0]["time"]
        else:
            first = self.influxql.query(f"SELECT first(energy_wh) FROM {level.source}")
            if not first:
                return set()
            start = first[0]["time"] - first[0]["time"] % level.period_ms
        return set(range(start, complete_before, level.period_ms))

    def _compute(self, level: Level, begin: int, end: int) -> list[str]:
        if level.name == "fp_host_1d":
            return self._host_lines(level, begin, end)
        fleet = level.source == HOST_MEASUREMENT  # fp_fleet_1h: also the workstations' monitors' energy
        tags = FLEET_TAGS if fleet else SERVICE_TAGS
        sums = ", ".join(f"sum({field}) AS {field}" for field in IMPACT_FIELDS + MONITOR_FIELDS)
        monitors = ", sum(monitor_energy_wh) AS monitor_energy_wh" if fleet else ""
        rows = self.influxql.query(
            f"SELECT {sums}{monitors}, count(energy_wh) AS samples FROM {level.source} "
            f"WHERE time >= {begin}ms AND time < {end}ms GROUP BY time({level.group}), {', '.join(tags)}")
        hours = level.period_ms / HOUR_MS
        return [
            line(level.name, {tag: row.get(tag, "") for tag in tags},
                 {**{field: _float(row[field]) for field in IMPACT_FIELDS},
                  **({"monitor_energy_wh": float(row["monitor_energy_wh"] or 0.0)} if fleet else {}),
                  "power_w": row["energy_wh"] / hours,
                  "samples": int(row["samples"])}, row["time"])
            for row in rows if row["samples"]
        ]

    def _host_lines(self, level: Level, begin: int, end: int) -> list[str]:
        """fp_host_1d: per day and fp_host series, three queries (InfluxQL sums no condition, and
        `distinct` goes alone)."""
        where = f"WHERE time >= {begin}ms AND time < {end}ms"
        group = f"GROUP BY time({level.group}), {', '.join(HOST_TAGS)}"
        sums = ", ".join(f"sum({field}) AS {field}" for field in IMPACT_FIELDS + MONITOR_FIELDS)
        rows = self.influxql.query(
            f"SELECT {sums}, count(energy_wh) AS samples, sum(interval_s) AS interval_s, "
            f"sum(agent_dropped_samples) AS agent_dropped_samples, sum(monitor_energy_wh) AS monitor_energy_wh, "
            f"sum(gwp_gco2e_per_kwh) AS gwp_sum, "
            f"min(gwp_gco2e_per_kwh) AS gwp_min, max(gwp_gco2e_per_kwh) AS gwp_max, min(pue) AS pue_min, "
            f"max(pue) AS pue_max, sum(cpu_util_pct) AS cpu_sum, count(cpu_util_pct) AS cpu_samples, "
            f"last(power_model) AS power_model FROM {HOST_MEASUREMENT} {where} {group}")
        past = {_key(row): row for row in self.influxql.query(
            f"SELECT sum(energy_wh) AS energy_wh, count(energy_wh) AS samples FROM {HOST_MEASUREMENT} "
            f"{where} AND past_lifetime = true {group}") if row["samples"]}
        grids: dict[tuple, set[str]] = {}
        for row in self.influxql.query(f"SELECT distinct(grid_source) AS grid_source FROM {HOST_MEASUREMENT} "
                                       f"{where} {group}"):
            grids.setdefault(_key(row), set()).add(row["grid_source"])
        hours = level.period_ms / HOUR_MS
        lines = []
        for row in rows:
            if not row["samples"]:
                continue
            aged = past.get(_key(row), {})
            lines.append(line(level.name, {tag: row.get(tag, "") for tag in HOST_TAGS}, {
                **{field: _float(row[field]) for field in IMPACT_FIELDS},
                # Always written, 0 when none, as the fields below.
                **{field: float(row.get(field) or 0.0) for field in MONITOR_FIELDS},
                "power_w": row["energy_wh"] / hours,
                "samples": int(row["samples"]),
                "interval_s": _float(row["interval_s"]),
                # Always written, 0 when none: a recomputed point must overwrite every field.
                "agent_dropped_samples": int(row["agent_dropped_samples"] or 0),
                "past_lifetime_energy_wh": float(aged.get("energy_wh") or 0.0),
                "monitor_energy_wh": float(row.get("monitor_energy_wh") or 0.0),
                "past_lifetime_samples": int(aged.get("samples") or 0),
                "gwp_gco2e_per_kwh_sum": _float(row["gwp_sum"]),
                "gwp_gco2e_per_kwh_min": _float(row["gwp_min"]),
                "gwp_gco2e_per_kwh_max": _float(row["gwp_max"]),
                "pue_min": _float(row["pue_min"]),
                "pue_max": _float(row["pue_max"]),
                "grid_sources": ",".join(sorted(grids.get(_key(row), ()))) or None,
                "cpu_util_pct_sum": float(row["cpu_sum"] or 0.0),
                "cpu_util_samples": int(row["cpu_samples"] or 0),
                "power_model": row["power_model"],
            }, row["time"]))
        return lines

    def _write(self, level: Level, begin: int, end: int, lines: list[str]) -> int:
        for start in range(0, len(lines), 5000):
            self.sink.write(lines[start:start + 5000])
        log.info("rolled up %s from %s to %s: %d points", level.name, _iso(begin), _iso(end), len(lines))
        return len(lines)


def _iso(ms: int) -> str:
    """A period's bound for the log, in ISO 8601 UTC (any year: a bad sample may be dated 1600)."""
    try:
        return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
    except (OverflowError, OSError, ValueError):
        return f"{ms} ms"


def _key(row: dict) -> tuple:
    return (row["time"], *(row.get(tag, "") for tag in HOST_TAGS))


def _ranges(starts: list[int], period_ms: int, most: int) -> list[tuple[int, int]]:
    """Consecutive period starts merged into [begin, end) ranges of at most `most` periods, one query each."""
    ranges: list[tuple[int, int]] = []
    for start in starts:
        if ranges and ranges[-1][1] == start and start - ranges[-1][0] < most * period_ms:
            ranges[-1] = (ranges[-1][0], start + period_ms)
        else:
            ranges.append((start, start + period_ms))
    return ranges
