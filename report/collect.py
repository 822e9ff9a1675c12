"""Gathers a report's figures from InfluxDB: totals, services, sites, trend, hosts, budgets, quality."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version

from tqdm import tqdm

from fleetprint.collector.budgets.config import BudgetFile
from fleetprint.collector.budgets.evaluate import BudgetEvaluator
from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.impacts import MEASURED_STEPS, Impacts, LadderStep
from fleetprint.report.model import HostFigures, InventoryFacts, Scope, ZoneFactors
from fleetprint.report.outcomes import BudgetOutcome, TrajectoryYear, in_scope, outcome, trajectory_path
from fleetprint.report.period import DAY, Period
from fleetprint.report.query import ReportQueries, ms
from fleetprint.report.trend import TrendPoint, trend_points
from fleetprint.report.whatif import HostEmbodied, WhatIf, extend_lifetimes

GAP_COVERAGE = 0.95  # a host whose samples cover less of its expected time has gaps
QUERY_THREADS = 2
COMPARABLE_DAYS = 0.9  # the previous period is compared with when it has data on this share of its days


class NoData(Exception):
    """The scope has no data in the period: there is nothing to report."""


@dataclass
class Quality:
    """How much of the period's figures rest on measurement, and which agents were missing."""

    energy_by_step: dict[str, float]  # power_source (LadderStep) -> Wh
    expected_hosts: int  # known before the period's end (inventory), or seen for the service
    reporting_hosts: int
    silent: list[str]  # expected, no sample at all in the period
    gaps: list[tuple[str, float]]  # (host, coverage) under GAP_COVERAGE
    coverage: float  # seconds covered by samples / seconds expected, over reporting hosts
    dropped_samples: int  # samples agents evicted from their full queues
    modelled_by_model: dict[str, float] = field(default_factory=dict)  # power model -> modelled Wh

    @property
    def published_share(self) -> float:
        """The share of the modelled server energy resting on published measurements of the same CPU."""
        servers = {m: wh for m, wh in self.modelled_by_model.items() if m.startswith("specpower_")}
        total = sum(servers.values())
        published = sum(wh for m, wh in servers.items() if m.startswith("specpower_published"))
        return published / total if total else 0.0
    # Manufacture GWP (gCO2e) by embodied_source: declared, fitted, boavizta ("declared+fitted": one
    # host's monitors of both)
    embodied_by_source: dict[str, float] = field(default_factory=dict)

    @property
    def declared_embodied_share(self) -> float:
        """The share of the manufacture GWP that makers declared."""
        total = sum(self.embodied_by_source.values())
        return self.embodied_by_source.get("declared", 0.0) / total if total else 0.0

    @property
    def measured_share(self) -> float:
        total = sum(self.energy_by_step.values())
        measured = sum(wh for step, wh in self.energy_by_step.items() if step in MEASURED_STEPS)
        return measured / total if total else 0.0


@dataclass
class ReportData:
    period: Period
    scope: Scope
    generated_at: datetime
    data_end: datetime  # the period's end, or now for a period not over yet
    totals: Impacts
    previous: Impacts | None  # the previous period of the same length, when it has data on most days
    previous_period: Period
    previous_days_with_data: int
    services: dict[str, Impacts]
    sites: dict[str, Impacts]
    departments: dict[str, Impacts]  # "" for hosts and devices of no department
    trend: list[TrendPoint]  # missing data as gaps
    hosts: dict[str, HostFigures]
    inventory: dict[str, InventoryFacts]
    zones: dict[str, ZoneFactors]
    pue: dict[str, tuple[float, float]]
    outcomes: list[BudgetOutcome]
    paths: dict[str, list[TrajectoryYear]]
    whatif: WhatIf
    quality: Quality
    boaviztapi_version: str

    def top_hosts(self, count: int = 10) -> list[HostFigures]:
        return sorted(self.hosts.values(), key=lambda h: -h.impacts.kgco2e)[:count]

    @property
    def past_lifetime_hosts(self) -> list[HostFigures]:
        return [host for host in self.hosts.values() if host.past_lifetime_wh > 0]

    @property
    def past_lifetime_energy_share(self) -> float:
        total = self.totals.energy_wh
        return sum(host.past_lifetime_wh for host in self.hosts.values()) / total if total else 0.0


def _chunks(start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, datetime]]:
    edges = [start]
    while edges[-1] < end:
        edges.append(min(edges[-1] + step, end))
    return list(zip(edges, edges[1:]))


def _group(rows: list[dict], key: str) -> dict[str, Impacts]:
    groups: dict[str, Impacts] = {}
    for row in rows:
        groups.setdefault(row.get(key) or "", Impacts()).add(row)
    return dict(sorted(groups.items(), key=lambda item: -item[1].kgco2e))


def _quality(queries: ReportQueries, period: Period, data_end: datetime, hosts: dict[str, HostFigures],
             inventory: dict[str, InventoryFacts], dropped: int) -> Quality:
    if queries.scope.service:
        previous = period.previous()
        expected_since = {name: period.start for name in
                          set(hosts) | queries.service_hosts(previous.start, previous.end)}
    else:
        expected_since = {name: max(period.start, facts.first_seen) for name, facts in inventory.items()
                          if facts.first_seen < data_end}
    for name in hosts:
        expected_since.setdefault(name, period.start)
    by_step: dict[str, float] = {}
    by_source: dict[str, float] = {}
    for host in hosts.values():
        for step, wh in host.energy_by_step.items():
            by_step[step] = by_step.get(step, 0.0) + wh
        for source, gco2e in host.embodied_by_source.items():
            by_source[source] = by_source.get(source, 0.0) + gco2e
    gaps, covered, expected = [], 0.0, 0.0
    for name, host in hosts.items():
        span = (data_end - expected_since[name]).total_seconds()
        if span <= 0:
            continue
        share = min(1.0, host.covered_s / span)
        covered, expected = covered + min(host.covered_s, span), expected + span
        if share < GAP_COVERAGE:
            gaps.append((name, share))
    silent = sorted(name for name in expected_since if name not in hosts)
    by_model: dict[str, float] = {}
    for name, host in hosts.items():
        wh = host.energy_by_step.get(LadderStep.MODELLED, 0.0)
        if wh:
            model = inventory[name].power_model if name in inventory and inventory[name].power_model else "unknown"
            by_model[model] = by_model.get(model, 0.0) + wh
    return Quality(dict(sorted(by_step.items(), key=lambda item: -item[1])), len(expected_since), len(hosts),
                   silent, sorted(gaps, key=lambda item: item[1]), covered / expected if expected else 0.0, dropped,
                   dict(sorted(by_model.items(), key=lambda item: -item[1])),
                   dict(sorted(by_source.items(), key=lambda item: -item[1])))


def scope_share(host: HostFigures, whole: Impacts | None) -> float:
    """The scope's share of a host: 1 for whole hosts (`whole` None), else the scope's part of the host's embodied
    impacts in the period (of its energy for a host past its lifetime, which has no embodied impacts)."""
    if whole is None:
        return 1.0
    if whole.embodied_gwp_gco2e:
        return min(1.0, host.impacts.embodied_gwp_gco2e / whole.embodied_gwp_gco2e)
    return min(1.0, host.impacts.energy_wh / whole.energy_wh) if whole.energy_wh else 0.0


def _whatif(hosts: dict[str, HostFigures], inventory: dict[str, InventoryFacts], years: float,
            whole_hosts: dict[str, Impacts] | None = None) -> WhatIf:
    """The what-if over the scope's hosts; with `whole_hosts` (a service's report: each host's own figures), each
    host's manufacture total apportioned to the scope, so that services' savings add up to the fleet's."""
    candidates = []
    for name, host in hosts.items():
        facts = inventory.get(name)
        if facts is None or not facts.lifetime_h or facts.embodied_gwp_total_gco2e is None:
            continue
        past = host.impacts.embodied_gwp_gco2e == 0 and host.past_lifetime_wh > 0
        share = scope_share(host, None if whole_hosts is None else whole_hosts.get(name, Impacts()))
        candidates.append(HostEmbodied(host.kind, facts.lifetime_h, facts.embodied_gwp_total_gco2e * share,
                                       host.impacts.embodied_gwp_gco2e, past))
    return extend_lifetimes(candidates, years)


def _boaviztapi_version() -> str:
    try:
        return version("boaviztapi")
    except PackageNotFoundError:
        return "unknown"


def collect(connect: Callable[[], InfluxQL], period: Period, scope: Scope, budgets: BudgetFile | None,
            now: datetime, extend_years: float, bar: tqdm) -> ReportData:
    """Every figure of the report, updating `bar` as it goes; `connect` gives a new InfluxQL client."""
    if period.start >= now:
        raise NoData(f"{period.label} has not started yet")
    influxql = connect()
    queries = ReportQueries(influxql, scope)
    data_end = min(period.end, now)
    hosts_end = max(data_end, period.start)
    step = DAY if period.days <= 92 else 7 * DAY
    split = queries.host_rollup_split(period.start, hosts_end)  # fp_host_1d's whole days before, raw points after
    hosts: dict[str, HostFigures] = {}
    zones: dict[str, ZoneFactors] = {}
    pue: dict[str, tuple[float, float]] = {}

    def rolled(queries: ReportQueries) -> int:
        if not scope.service:
            queries.add_hosts(period.start, split, hosts, rolled=True)
        return queries.add_factors(period.start, split, zones, pue, rolled=True)

    def raw_hosts(begin: datetime, end: datetime, factors: bool) -> Callable[[ReportQueries], int]:
        def task(queries: ReportQueries) -> int:
            queries.add_hosts(begin, end, hosts)
            return queries.add_factors(begin, end, zones, pue) if factors else 0
        return task

    tasks: list[Callable[[ReportQueries], int]] = []
    if split > period.start:
        tasks.append(rolled)
        if scope.service:  # no per host rollup for a service: its raw points, a chunk at a time
            tasks += [raw_hosts(*chunk, False) for chunk in _chunks(period.start, split, step)]
    tasks += [raw_hosts(*chunk, True) for chunk in _chunks(split, hosts_end, step)]
    month_chunks = _chunks(period.start, period.end, 31 * DAY)
    previous = period.previous()
    bar.reset(total=len(tasks) + len(month_chunks) + 3 + (len(budgets.budget) if budgets else 0))

    bar.set_description("hosts")
    lock = threading.Lock()

    def run(task: Callable[[ReportQueries], int]) -> int:
        """A task on this thread's own connection, merging under the lock."""
        return task(ReportQueries(connect(), scope, lock))

    dropped = 0
    with ThreadPoolExecutor(QUERY_THREADS) as pool:  # InfluxDB answers two queries at once faster than in turn
        for count in pool.map(run, tasks):
            dropped += count
            bar.update()
    if not hosts:
        raise NoData(f"no data for the {scope.label} in {period.label}" if not (scope.service or scope.site
                     or scope.department) else f"no data for {scope.label} in {period.label}")
    totals = sum((host.impacts for host in hosts.values()), Impacts())

    bar.set_description("services")
    rolled_end = queries.rolled_end()
    rows: list[dict] = []
    for start, end in month_chunks:
        rows += queries.service_days(start, end, rolled_end)
        bar.update()

    bar.set_description("previous period")
    previous_rows = queries.service_days(previous.start, previous.end, rolled_end)
    previous_days = len({row["time"] for row in previous_rows})
    bar.update()

    bar.set_description("inventory")
    inventory = queries.inventory(period.end)
    quality = _quality(queries, period, data_end, hosts, inventory, dropped)
    bar.update()

    bar.set_description("budgets")
    evaluator = BudgetEvaluator(influxql, budgets.evaluation) if budgets else None
    outcomes, paths = [], {}
    for budget in budgets.budget if budgets else []:
        if in_scope(budget, scope) and evaluator:
            result = outcome(evaluator, budget, period, now)
            if result:
                outcomes.append(result)
            if budget.trajectory and period.kind == "year":
                paths[budget.id] = trajectory_path(evaluator, budget, period.start.year, now)
        bar.update()

    bar.set_description("what-if")
    whole_hosts = queries.whole_hosts(period.start, split, hosts_end, set(hosts)) if scope.service else None
    whatif = _whatif(hosts, inventory, extend_years, whole_hosts)
    bar.update()
    comparable = previous_days >= COMPARABLE_DAYS * previous.days
    day_before = ms(period.start - DAY)
    return ReportData(
        period=period, scope=scope, generated_at=now, data_end=data_end, totals=totals,
        previous=sum((Impacts().add(row) for row in previous_rows), Impacts()) if comparable else None,
        previous_period=previous, previous_days_with_data=previous_days,
        services=_group(rows, "service"), sites=_group(rows, "site"),
        departments=_group(rows, "department"),
        trend=trend_points(period, rows, data_end, any(row["time"] >= day_before for row in previous_rows)),
        hosts=hosts,
        inventory=inventory, zones=dict(sorted(zones.items())), pue=dict(sorted(pue.items())), outcomes=outcomes,
        paths=paths, whatif=whatif, quality=quality, boaviztapi_version=_boaviztapi_version())
