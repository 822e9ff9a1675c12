"""Per-service rollups per hour and per day, so that dashboards over a year stay fast.

`fp_service_1h` and `fp_service_1d` (tags `service`, `site`) hold, per period, the sums over
all hosts of energy and impacts from `fp_service`, the mean power over the period
(`power_w` = energy / period) and the number of samples. A run recomputes every period
from the last one rolled up (catching up after downtime) to the last complete one, plus the
older periods that received late samples since the last run (an agent's backlog after an
outage; a mark waits `settle_s` so that the sample behind it has been written). Rollup points overwrite themselves, so a run repeated, or run by several
collectors, writes the same figures.
"""

from __future__ import annotations

import logging
import threading
import time

from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.collector.store.lineprotocol import line
from fleetprint.collector.store.points import SERVICE_MEASUREMENT
from fleetprint.collector.store.sink import Sink

log = logging.getLogger(__name__)
LEVELS = (("fp_service_1h", 3_600_000, "1h"), ("fp_service_1d", 86_400_000, "1d"))
SUMMED_FIELDS = ("energy_wh", "usage_gwp_gco2e", "usage_adp_kgsbeq", "usage_pe_mj",
                 "embodied_gwp_gco2e", "embodied_adp_kgsbeq", "embodied_pe_mj")


class Rollups:
    """Computes rollups from raw `fp_service` points through InfluxQL and writes them through the sink."""

    def __init__(self, influxql: InfluxQL, sink: Sink, lag_s: float = 120.0, settle_s: float = 10.0) -> None:
        self.influxql = influxql
        self.sink = sink
        self.lag_ms = int(lag_s * 1000)
        self.settle_s = settle_s
        self._late: dict[str, dict[int, float]] = {name: {} for name, _, _ in LEVELS}  # period -> marked at
        self._lock = threading.Lock()

    def mark(self, sample_ms: int) -> None:
        """A sample at `sample_ms` is being stored: its periods need (re)computing."""
        now = time.monotonic()
        with self._lock:
            for name, period_ms, _ in LEVELS:
                self._late[name][sample_ms - sample_ms % period_ms] = now

    def run(self, now_ms: int | None = None) -> int:
        """Recompute what is due; returns the number of rollup points written."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        settled_before = time.monotonic() - self.settle_s
        written = 0
        for name, period_ms, group in LEVELS:
            complete_before = (now_ms - self.lag_ms) // period_ms * period_ms
            with self._lock:
                late = {p for p, marked in self._late[name].items() if p < complete_before and marked <= settled_before}
                for period in late:
                    del self._late[name][period]
            starts = self._due(name, period_ms, complete_before) | late
            try:
                for begin, end in _ranges(sorted(starts), period_ms):
                    written += self._compute(name, period_ms, group, begin, end)
            except Exception:
                with self._lock:  # try these periods again next run
                    for period in late:
                        self._late[name].setdefault(period, 0.0)
                raise
        return written

    def _due(self, name: str, period_ms: int, complete_before: int) -> set[int]:
        """Periods from the last rolled up (or the first raw sample) to the last complete one."""
        last = self.influxql.query(f"SELECT last(energy_wh) FROM {name}")
        if last:
            start = last[0]["time"]
        else:
            first = self.influxql.query(f"SELECT first(energy_wh) FROM {SERVICE_MEASUREMENT}")
            if not first:
                return set()
            start = first[0]["time"] - first[0]["time"] % period_ms
        return set(range(start, complete_before, period_ms))

    def _compute(self, name: str, period_ms: int, group: str, begin: int, end: int) -> int:
        sums = ", ".join(f"sum({field}) AS {field}" for field in SUMMED_FIELDS)
        rows = self.influxql.query(
            f"SELECT {sums}, count(energy_wh) AS samples FROM {SERVICE_MEASUREMENT} "
            f"WHERE time >= {begin}ms AND time < {end}ms GROUP BY time({group}), service, site")
        hours = period_ms / 3_600_000
        lines = [
            line(name, {"service": row["service"], "site": row["site"]},
                 # JSON gives a whole-number float back as an int: keep the fields' float type.
                 {**{field: None if row[field] is None else float(row[field]) for field in SUMMED_FIELDS},
                  "power_w": row["energy_wh"] / hours,
                  "samples": int(row["samples"])}, row["time"])
            for row in rows if row["samples"]
        ]
        for start in range(0, len(lines), 5000):
            self.sink.write(lines[start:start + 5000])
        log.info("rolled up %s from %d to %d: %d points", name, begin, end, len(lines))
        return len(lines)


MAX_PERIODS_PER_QUERY = 168


def _ranges(starts: list[int], period_ms: int) -> list[tuple[int, int]]:
    """Consecutive period starts merged into [begin, end) ranges of at most 168 periods, one query each."""
    ranges: list[tuple[int, int]] = []
    for start in starts:
        if ranges and ranges[-1][1] == start and start - ranges[-1][0] < MAX_PERIODS_PER_QUERY * period_ms:
            ranges[-1] = (ranges[-1][0], start + period_ms)
        else:
            ranges.append((start, start + period_ms))
    return ranges
