"""The report's InfluxQL: per host figures from the daily host rollups, per service and site per day
from the hourly service rollups, raw points only where no rollup covers the period yet.

Per host figures come from `fp_host_1d` for the whole UTC days it covers (hosts × days points,
whatever the agents' sample rate) and from raw `fp_host` points after them (the current day, or
days not rolled up yet), a chunk at a time. For one service they come from its raw `fp_service`
points (there is no per host and service rollup); the electricity factors, PUE and dropped
samples, fleet-wide, still come from `fp_host_1d`. Service and site figures come from the hourly
rollups (`fp_service_1h`) for the hours they cover and from raw `fp_service` points after them,
as the budgets do (docs/budgets.md). Rollups are read in the InfluxQL client's rollup retention
policy (docs/storage.md, "Retention").
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.impacts import IMPACT_FIELDS, Impacts
from fleetprint.report.model import HostFigures, InventoryFacts, Scope, ZoneFactors

HOUR_MS, DAY_MS = 3_600_000, 86_400_000
_SUMS = ", ".join(f"sum({name}) AS {name}" for name in IMPACT_FIELDS)


def quote(value: str) -> str:
    """An InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def utc(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, timezone.utc)


def _add_embodied_by_source(by_source: dict[str, float], row: dict[str, Any]) -> None:
    """A row's manufacture GWP split by source: the monitors' part (fp_host, fp_host_1d; a service's
    points do not say it) under theirs, the rest under the machine's."""
    monitors = float(row.get("monitor_gwp") or 0.0)
    parts = ((row.get("embodied_source") or "unknown", float(row["embodied_gwp_gco2e"] or 0.0) - monitors),
             (row.get("monitor_embodied_source") or "unknown", monitors))
    for source, gco2e in parts:
        if gco2e:
            by_source[source] = by_source.get(source, 0.0) + gco2e


class ReportQueries:
    """InfluxQL statements for one scope."""

    def __init__(self, influxql: InfluxQL, scope: Scope, lock: threading.Lock | None = None) -> None:
        self.influxql = influxql
        self.scope = scope
        self._lock = lock or threading.Lock()  # held while merging into shared figures

    @property
    def host_measurement(self) -> str:
        """fp_host for the fleet or a site; the service's own points for a service."""
        return "fp_service" if self.scope.service else "fp_host"

    def where(self, service_level: bool) -> str:
        """The scope's conditions; the service one only applies to measurements that have the tag."""
        clauses = ["time >= 0"]
        if self.scope.service and service_level:
            clauses.append(f"service = {quote(self.scope.service)}")
        if self.scope.site:
            clauses.append(f"site = {quote(self.scope.site)}")
        if self.scope.department:
            clauses.append(f"department = {quote(self.scope.department)}")
        return " AND ".join(clauses)

    def _between(self, service_level: bool, start: datetime, end: datetime) -> str:
        return f"{self.where(service_level)} AND time >= {ms(start)}ms AND time < {ms(end)}ms"

    def add_hosts(self, start: datetime, end: datetime, hosts: dict[str, HostFigures], rolled: bool = False) -> None:
        """Add [start, end)'s per host sums, samples, energy per ladder step (`power_source`) and past-lifetime
        energy; from `fp_host_1d` when `rolled` (whole days it covers; not for a service), else from raw points."""
        between = self._between(not rolled, start, end)
        if rolled:
            assert not self.scope.service, "no per host rollup for a service"
            measurement, samples = self.influxql.rollup("fp_host_1d"), "sum(samples)"
            past_query = (f"SELECT sum(past_lifetime_energy_wh) AS energy_wh, sum(past_lifetime_samples) AS samples "
                          f"FROM {measurement} WHERE {between} GROUP BY host")
        else:
            measurement, samples = self.host_measurement, "count(energy_wh)"
            past_query = (f"SELECT sum(energy_wh) AS energy_wh, count(energy_wh) AS samples FROM fp_host "
                          f"WHERE {self._between(False, start, end)} AND past_lifetime = true GROUP BY host")
        rows = self.influxql.query(
            f"SELECT {_SUMS}, {samples} AS samples, sum(interval_s) AS covered_s, "
            f"sum(monitor_embodied_gwp_gco2e) AS monitor_gwp FROM {measurement} "
            f"WHERE {between} GROUP BY host, site, kind, power_source, embodied_source, monitor_embodied_source")
        past = self.influxql.query(past_query)
        with self._lock:
            chunk: dict[str, tuple[float, int]] = {}  # host -> (Wh, samples) in this chunk
            for row in rows:
                if not row["samples"]:
                    continue
                energy, samples = chunk.get(row["host"], (0.0, 0))
                chunk[row["host"]] = (energy + float(row["energy_wh"] or 0.0), samples + int(row["samples"] or 0))
                figures = hosts.setdefault(row["host"], HostFigures(row["host"], row["site"], row["kind"]))
                figures.site = row["site"]
                figures.impacts.add(row)
                figures.samples += int(row["samples"] or 0)
                figures.covered_s += float(row["covered_s"] or 0.0)
                step = row.get("power_source") or "unknown"
                by_step = figures.energy_by_step
                by_step[step] = by_step.get(step, 0.0) + float(row["energy_wh"] or 0.0)
                _add_embodied_by_source(figures.embodied_by_source, row)
            for row in past:
                figures = hosts.get(row["host"])
                if figures is None:
                    continue
                if self.scope.service:  # the service's energy times the share of the host's samples past lifetime
                    energy, samples = chunk.get(row["host"], (0.0, 0))
                    share = min(1.0, int(row["samples"] or 0) / samples) if samples else 0.0
                    figures.past_lifetime_wh += energy * share
                else:
                    figures.past_lifetime_wh += float(row["energy_wh"] or 0.0)

    def add_factors(self, start: datetime, end: datetime, zones: dict[str, ZoneFactors],
                    pue: dict[str, tuple[float, float]], rolled: bool = False) -> int:
        """Merge [start, end)'s electricity factors per zone and PUE per site; returns samples dropped by agents.
        From `fp_host_1d` when `rolled` (whole days it covers), else from raw `fp_host` points."""
        between = self._between(False, start, end)
        if rolled:
            daily = self.influxql.rollup("fp_host_1d")
            factors = self.influxql.query(
                f"SELECT sum(samples) AS n, sum(gwp_gco2e_per_kwh_sum) AS total, min(gwp_gco2e_per_kwh_min) AS low, "
                f"max(gwp_gco2e_per_kwh_max) AS high FROM {daily} WHERE {between} GROUP BY zone")
            for row in factors:
                row["mean"] = row["total"] / row["n"] if row["n"] else None
            sources = [{"zone": row["zone"], "source": source} for row in self.influxql.query(
                f"SELECT distinct(grid_sources) AS sources FROM {daily} WHERE {between} GROUP BY zone")
                for source in row["sources"].split(",")]
            pues = self.influxql.query(f"SELECT min(pue_min) AS low, max(pue_max) AS high FROM {daily} "
                                       f"WHERE {between} GROUP BY site")
            dropped = self.influxql.query(f"SELECT sum(agent_dropped_samples) AS dropped FROM {daily} "
                                          f"WHERE {between}")
        else:
            factors = self.influxql.query(
                f"SELECT count(gwp_gco2e_per_kwh) AS n, mean(gwp_gco2e_per_kwh) AS mean, min(gwp_gco2e_per_kwh) AS "
                f"low, max(gwp_gco2e_per_kwh) AS high FROM fp_host WHERE {between} GROUP BY zone")
            sources = self.influxql.query(f"SELECT distinct(grid_source) AS source FROM fp_host WHERE {between} "
                                          f"GROUP BY zone")
            pues = self.influxql.query(f"SELECT min(pue) AS low, max(pue) AS high FROM fp_host WHERE {between} "
                                       f"GROUP BY site")
            dropped = self.influxql.query(f"SELECT sum(agent_dropped_samples) AS dropped FROM fp_host "
                                          f"WHERE {between}")
        with self._lock:
            for row in factors:
                if row["n"]:
                    zone = zones.setdefault(row["zone"], ZoneFactors())
                    zone.merge(int(row["n"]), row["mean"], row["low"], row["high"])
            for row in sources:
                zones.setdefault(row["zone"], ZoneFactors()).grid_sources.add(row["source"])
            for row in pues:
                low, high = pue.get(row["site"], (row["low"], row["high"]))
                pue[row["site"]] = (min(low, row["low"]), max(high, row["high"]))
        return int(dropped[0]["dropped"] or 0) if dropped else 0

    def host_rollup_split(self, start: datetime, end: datetime) -> datetime:
        """Where [start, end) passes from `fp_host_1d` to raw points: the end of the last day rolled up,
        within [start, end]; `start` when it is not a UTC midnight."""
        if ms(start) % DAY_MS:
            return start
        rows = self.influxql.query(f"SELECT last(samples) FROM {self.influxql.rollup('fp_host_1d')}")
        rolled_end = utc(rows[0]["time"] + DAY_MS) if rows else start
        return min(max(start, rolled_end), end)

    def rolled_end(self) -> datetime | None:
        """The end of the last hour rolled up into fp_service_1h, if any."""
        rows = self.influxql.query(f"SELECT last(samples) FROM {self.influxql.rollup('fp_service_1h')}")
        return utc(rows[0]["time"] + HOUR_MS) if rows else None

    def service_days(self, start: datetime, end: datetime, rolled_end: datetime | None) -> list[dict[str, Any]]:
        """Per UTC day, service, site and department in [start, end): the summed fields and `samples`."""
        split = min(max(start, rolled_end or start), end)
        rows: list[dict[str, Any]] = []
        hourly = self.influxql.rollup("fp_service_1h")
        for measurement, begin, finish in ((hourly, start, split), ("fp_service", split, end)):
            if finish <= begin:
                continue
            count = "sum(samples)" if measurement == hourly else "count(energy_wh)"
            rows += [row for row in self.influxql.query(
                f"SELECT {_SUMS}, {count} AS samples FROM {measurement} WHERE {self._between(True, begin, finish)} "
                f"GROUP BY time(1d), service, site, department") if row["samples"]]
        return rows

    def inventory(self, end: datetime) -> dict[str, InventoryFacts]:
        """Every host's last inventory before `end`, with when it was first seen."""
        where = f"{self.where(False)} AND time < {ms(end)}ms"
        first = {row["host"]: row["time"] for row in self.influxql.query(
            f"SELECT first(ram_gb) FROM fp_inventory WHERE {where} GROUP BY host")}
        facts: dict[str, InventoryFacts] = {}
        for row in self.influxql.query(
                f"SELECT last(lifetime_h) AS lifetime_h, last(embodied_gwp_total_gco2e) AS embodied, "
                f"last(power_model) AS power_model FROM fp_inventory WHERE {where} GROUP BY host, kind, site"):
            if row["host"] in first:
                facts[row["host"]] = InventoryFacts(row["host"], row["kind"], row["site"], row["lifetime_h"],
                                                    row["embodied"], utc(first[row["host"]]),
                                                    row.get("power_model") or "")
        return facts

    def whole_hosts(self, start: datetime, split: datetime, end: datetime, names: set[str]) -> dict[str, Impacts]:
        """Each named host's own embodied GWP and energy over [start, end) (not a service's part of them): from
        `fp_host_1d` before `split`, raw `fp_host` points after."""
        whole: dict[str, Impacts] = {}
        fields = "sum(embodied_gwp_gco2e) AS embodied_gwp_gco2e, sum(energy_wh) AS energy_wh"
        for measurement, begin, finish in ((self.influxql.rollup("fp_host_1d"), start, split), ("fp_host", split, end)):
            if finish <= begin:
                continue
            for row in self.influxql.query(f"SELECT {fields} FROM {measurement} "
                                           f"WHERE {self._between(False, begin, finish)} GROUP BY host"):
                if row["host"] in names:
                    whole.setdefault(row["host"], Impacts()).add(row)
        return whole

    def service_hosts(self, start: datetime, end: datetime) -> set[str]:
        """Hosts that reported for the scope's service in [start, end)."""
        return {row["host"] for row in self.influxql.query(
            f"SELECT last(energy_wh) FROM fp_service WHERE {self._between(True, start, end)} GROUP BY host")}

