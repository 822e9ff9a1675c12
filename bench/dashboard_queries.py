"""How long every dashboard panel's query takes on a large fleet, at 24 h, 7 d, 30 d and 1 y.

Loads into a fresh InfluxDB what the collector would have written for a simulated fleet (by default
1,000 hosts at 30 s): the rollups it keeps (`fp_fleet_1h`, `fp_service_1h`, `fp_service_1d`,
`fp_host_1d`, in the `rollups` retention policy) for a year, generated here directly rather than
through the collector; raw `fp_host` and `fp_service` points at 30 s for the recent tail the panels
read (the last day) and for one host over 30 days (the host dashboard); a year of budget states
and 30 days of the collector's health points. Then times each panel's query, with Grafana's macros
expanded as Grafana would (`$__interval` about range / 1,000), and prints a table (best of 3, ms),
and one refresh of `fleetprint live` (its three queries over the raw points).

    .venv/bin/python bench/dashboard_queries.py              # 1,000 hosts, about 4 minutes here
    .venv/bin/python bench/dashboard_queries.py --hosts 100  # quicker

The figures are not a model of the fleet's impacts: only the number of points and series matter.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fleetprint.collector.live_figures import live_figures  # noqa: E402
from fleetprint.collector.rollups import FLEET_TAGS, HOST_TAGS, SERVICE_TAGS  # noqa: E402
from fleetprint.collector.store.influxql import InfluxQL  # noqa: E402
from fleetprint.collector.store.lineprotocol import line  # noqa: E402
from fleetprint.dashboards.definitions import ROLLUP_POLICY, all_dashboards  # noqa: E402
from fleetprint.simulator.fleet import VirtualHost, generate_fleet  # noqa: E402

from services import InfluxDB  # noqa: E402  (tests/services.py)

DB = "bench_dashboards"
HOUR_S, DAY_S = 3600, 86_400
RANGES = {"24h": DAY_S, "7d": 7 * DAY_S, "30d": 30 * DAY_S, "1y": 365 * DAY_S}
TARGET_MS = {"30d": 1000, "1y": 2000}
POWER_W = {"server": 220.0, "vm": 45.0, "desktop": 55.0, "laptop": 14.0}
GWP_PER_KWH = {"FRA": 60.0, "DEU": 380.0, "ESP": 170.0}
EMBODIED_G_PER_H = {"server": 60.0, "vm": 8.0, "desktop": 30.0, "laptop": 25.0}


def source(host: VirtualHost) -> str:
    return "wall" if host.wall else "battery" if host.kind == "laptop" else "modelled"


def tags(host: VirtualHost) -> dict[str, str]:
    return {"host": host.host_id, "kind": host.kind, "site": host.site.name, "department": host.department,
            "zone": host.site.zone or "FRA", "power_source": source(host), "embodied_source": "boavizta"}


def impacts(host: VirtualHost, energy_wh: float, hours: float) -> dict[str, float]:
    """The impact set for `energy_wh` used over `hours` (made-up but plausible factors)."""
    grid = GWP_PER_KWH.get(host.site.zone or "FRA", 100.0)
    return {"energy_wh": energy_wh, "usage_gwp_gco2e": energy_wh / 1000 * grid,
            "usage_adp_kgsbeq": energy_wh * 1e-8, "usage_pe_mj": energy_wh * 0.0113,
            "embodied_gwp_gco2e": EMBODIED_G_PER_H[host.kind] * hours, "embodied_adp_kgsbeq": hours * 1e-6,
            "embodied_pe_mj": hours * 0.8}


def _busy(at_s: int) -> bool:
    return 8 <= at_s // HOUR_S % 24 < 19  # 11 working hours a day


def load(host: VirtualHost, at_s: int) -> float:
    """Power in W at `at_s`: the kind's base, lower outside working hours, with a per-host offset."""
    return POWER_W[host.kind] * (1.0 if _busy(at_s) else 0.6) * (0.8 + (host.key % 40) / 100)


def rollup_lines(hosts: list[VirtualHost], start_s: int, end_s: int) -> Iterator[list[str]]:
    """Per day: fp_host_1d, fp_service_1d, and each hour's fp_fleet_1h and fp_service_1h, as the collector writes
    them: the periods complete before `end_s`. An hour's sums depend only on whether it is a working hour, so
    they are computed once for each."""
    hourly = {busy: _hour_sums(hosts, busy) for busy in (True, False)}
    service_day: dict[tuple, dict[str, float]] = {}
    for busy in (True, False):
        for key, sums in hourly[busy][1].items():
            _add(service_day, key, {f: v * (11 if busy else 13) for f, v in sums.items() if f != "samples"},
                 int(sums["samples"]) * (11 if busy else 13))
    day_wh = {host.host_id: sum(load(host, hour) for hour in range(0, DAY_S, HOUR_S)) for host in hosts}
    for day in range(start_s, end_s, DAY_S):
        lines: list[str] = []
        for hour in range(day, min(day + DAY_S, end_s - HOUR_S + 1), HOUR_S):
            fleet, service = hourly[_busy(hour)]
            lines += _sum_lines("fp_fleet_1h", FLEET_TAGS, fleet, hour, 1.0)
            lines += _sum_lines("fp_service_1h", SERVICE_TAGS, service, hour, 1.0)
        if day + DAY_S > end_s:
            yield lines
            return
        lines += _sum_lines("fp_service_1d", SERVICE_TAGS, service_day, day, 24.0)
        for host in hosts:
            wh = day_wh[host.host_id]
            fields = impacts(host, wh, 24.0)
            lines.append(line("fp_host_1d", {tag: tags(host).get(tag, "") for tag in HOST_TAGS}, {
                **fields, "power_w": wh / 24, "samples": 2880, "interval_s": float(DAY_S), "agent_dropped_samples": 0,
                "monitor_energy_wh": 0.0, "past_lifetime_energy_wh": 0.0, "past_lifetime_samples": 0,
                "gwp_gco2e_per_kwh_sum": 2880 * 60.0, "gwp_gco2e_per_kwh_min": 60.0, "gwp_gco2e_per_kwh_max": 60.0,
                "pue_min": 1.0, "pue_max": 1.0, "grid_sources": "boavizta", "cpu_util_pct_sum": 2880 * 20.0,
                "cpu_util_samples": 2880, "power_model": "specpower_fit"}, day * 1000))
        yield lines


def _hour_sums(hosts: list[VirtualHost], busy: bool) -> tuple[dict[tuple, dict[str, float]], dict[tuple, dict]]:
    """One hour's fp_fleet_1h and fp_service_1h sums per group."""
    fleet: dict[tuple, dict[str, float]] = {}
    service: dict[tuple, dict[str, float]] = {}
    at = 12 * HOUR_S if busy else 0
    for host in hosts:
        fields = impacts(host, load(host, at), 1.0)
        _add(fleet, tuple(tags(host)[tag] for tag in FLEET_TAGS), {**fields, "monitor_energy_wh": 0.0}, 120)
        for svc, weight in host.services:
            share = weight / sum(w for _, w in host.services)
            _add(service, (host.department, svc.name, host.site.name), {k: v * share for k, v in fields.items()}, 120)
    return fleet, service


def _add(sums: dict[tuple, dict[str, float]], key: tuple, fields: dict[str, float], samples: int) -> None:
    into = sums.setdefault(key, dict.fromkeys((*fields, "samples"), 0.0))
    for name, value in fields.items():
        into[name] += value
    into["samples"] += samples


def _sum_lines(measurement: str, names: tuple[str, ...], sums: dict[tuple, dict[str, float]], at_s: int,
               hours: float) -> list[str]:
    return [line(measurement, dict(zip(names, key, strict=True)),
                 {**{f: x for f, x in v.items() if f != "samples"}, "power_w": v["energy_wh"] / hours,
                  "samples": int(v["samples"])}, at_s * 1000) for key, v in sums.items()]


def raw_lines(hosts: list[VirtualHost], start_s: int, end_s: int, step_s: int) -> Iterator[list[str]]:
    """fp_host and fp_service points every `step_s`, an hour of them per batch."""
    for hour in range(start_s, end_s, HOUR_S):
        lines = []
        for at in range(hour, min(hour + HOUR_S, end_s), step_s):
            for host in hosts:
                power = load(host, at)
                fields = impacts(host, power * step_s / HOUR_S, step_s / HOUR_S)
                lines.append(line("fp_host", tags(host), {
                    **fields, "interval_s": float(step_s), "power_w": power, "cpu_util_pct": 20.0,
                    "mem_used_bytes": 4e9, "mem_total_bytes": 16e9, "pue": 1.0, "gwp_gco2e_per_kwh": 60.0,
                    "grid_source": "boavizta", "past_lifetime": False, "power_model": "specpower_fit",
                    "seq": at // step_s}, at * 1000))
                for svc, weight in host.services:
                    share = weight / sum(w for _, w in host.services)
                    lines.append(line("fp_service", {**tags(host), "service": svc.name}, {
                        **{k: v * share for k, v in fields.items()}, "power_w": power * share,
                        "interval_s": float(step_s), "cpu_share": 0.2 * share}, at * 1000))
        yield lines


def other_lines(hosts: list[VirtualHost], now_s: int) -> Iterator[list[str]]:
    """Inventories, a year of budget states (every 15 minutes, six budgets) and 30 days of the collector's
    health (every 10 s)."""
    yield [line("fp_inventory", {k: v for k, v in tags(host).items() if k not in ("power_source", "embodied_source")}, {
        "cpu_model": host.cpu.name, "cpu_sockets": host.sockets, "cpu_threads": host.threads, "ram_gb": host.ram_gb,
        "disk_count": len(host.disks), "disk_total_gb": 512.0, "os": host.os, "power_model": "specpower_fit",
        "lifetime_h": 5 * 8760.0, "purchase_year": 2022, "embodied_gwp_total_gco2e": 1e6}, (now_s - DAY_S) * 1000)
        for host in hosts]
    services = ("citizen-portal", "mail", "intranet", "payroll", "gis", "backup")
    for day in range(now_s - 365 * DAY_S, now_s, 30 * DAY_S):
        yield [line("fp_budget", {"budget": f"{svc}-month", "service": svc}, {
            "state": "ok", "state_level": 0, "spent_kgco2e": 10.0, "forecast_kgco2e": 20.0, "limit_kgco2e": 30.0,
            "spent_kwh": 10.0, "forecast_kwh": 20.0, "limit_kwh": 30.0, "trajectory_factor": 1.0}, at * 1000)
            for at in range(day, min(day + 30 * DAY_S, now_s), 900) for svc in services]
    for day in range(now_s - 30 * DAY_S, now_s, DAY_S):
        yield [line("fp_collector", {"collector": "c1"}, {
            "points_written": (at - day) * 10, "rejected_total": 0, "rejected_malformed": 0,
            "samples_refused_total": 0, "points_refused": 0, "services_over_limit": 0, "broker_dropped_messages": 0,
            "reports_held": 0, "write_retries": 0}, at * 1000) for at in range(day, day + DAY_S, 10)]


def write(influx: InfluxDB, batches: Iterator[list[str]], policy: str | None = None) -> int:
    written = 0
    for lines in batches:
        for start in range(0, len(lines), 20_000):
            body = "\n".join(lines[start:start + 20_000]).encode()
            url = f"{influx.url}/write?db={DB}&precision=ms" + (f"&rp={policy}" if policy else "")
            with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=120):
                pass
        written += len(lines)
    return written


def expand(query: str, range_s: int, service: str, host: str) -> str:
    interval = f"{max(10, range_s // 1000)}s"  # Grafana: range / max data points, at least the min interval
    return (query.replace("$timeFilter", f"time > now() - {range_s}s").replace("$__interval", interval)
            .replace("$site", ".*").replace("$department", ".*").replace("$service", service)
            .replace("$host", host).replace("$rollup_rp", ROLLUP_POLICY))


def timed(influx: InfluxDB, query: str) -> tuple[float, int]:
    """Best of three, ms, and the rows returned."""
    best, rows = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        rows = len(influx.query(query, DB, timeout_s=300))
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--rollup-days", type=int, default=365, help="days of rollups (default a year)")
    parser.add_argument("--raw-hours", type=int, default=24, help="hours of raw points for every host")
    parser.add_argument("--host-days", type=int, default=30, help="days of raw points for the host dashboard's host")
    parser.add_argument("--rollup-shard", default="52w",
                        help="the rollups' policy's shard duration (docs/storage.md; InfluxDB's default for INF: 1w)")
    args = parser.parse_args()
    hosts = generate_fleet(args.hosts, seed=7, reference=date(2026, 11, 1))
    chosen = next(host for host in hosts if host.wall)
    now_s = int(time.time())
    today = now_s - now_s % DAY_S
    this_hour = now_s - now_s % HOUR_S
    with tempfile.TemporaryDirectory(prefix="fp-bench-dash-") as tmp:
        influx = InfluxDB(index="tsi1")
        influx.start(Path(tmp))
        try:
            influx.create_database(DB)
            influx.query(f'CREATE RETENTION POLICY "{ROLLUP_POLICY}" ON "{DB}" DURATION INF REPLICATION 1 '
                         f'SHARD DURATION {args.rollup_shard}', DB)
            started = time.perf_counter()
            counts = {"rollups": write(influx, rollup_lines(hosts, today - args.rollup_days * DAY_S, this_hour),
                                       ROLLUP_POLICY)}
            counts["raw"] = write(influx, raw_lines(hosts, this_hour - args.raw_hours * HOUR_S, now_s, 30))
            counts["raw"] += write(influx, raw_lines([chosen], now_s - args.host_days * DAY_S,
                                                     this_hour - args.raw_hours * HOUR_S, 30))
            counts["other"] = write(influx, other_lines(hosts, now_s))
            print(f"loaded {counts} points in {time.perf_counter() - started:.0f} s ({args.hosts} hosts)")
            report(influx, chosen.host_id)
            live_refresh(influx, datetime.fromtimestamp(now_s, timezone.utc))
        finally:
            influx.stop()


def report(influx: InfluxDB, host: str) -> None:
    print(f"| dashboard | panel | {' | '.join(RANGES)} |")
    print(f"|---|---|{'---:|' * len(RANGES)}")
    worst = dict.fromkeys(RANGES, 0.0)
    for board in all_dashboards():
        for panel in board["panels"]:
            cells = []
            for name, range_s in RANGES.items():
                ms = sum(timed(influx, expand(t["query"], range_s, "mail", host))[0] for t in panel["targets"])
                worst[name] = max(worst[name], ms)
                flag = " (over)" if name in TARGET_MS and ms > TARGET_MS[name] else ""
                cells.append(f"{ms:.0f}{flag}")
            print(f"| {board['uid']} | {panel['title']} | {' | '.join(cells)} |", flush=True)
    print("slowest panel, ms: " + ", ".join(f"{name} {ms:.0f}" for name, ms in worst.items()))


def live_refresh(influx: InfluxDB, now: datetime) -> None:
    """One redraw of `fleetprint live` as at `now`, the end of the raw points: the hosts of the last 120 s,
    the estate's hour, the last hour by minute."""
    influxql = InfluxQL(influx.url, DB)
    best, hosts = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        hosts = len(live_figures(influxql, 120, now).hosts)
        best = min(best, (time.perf_counter() - started) * 1000)
    print(f"fleetprint live, one refresh: {best:.0f} ms ({hosts} hosts reporting)")


if __name__ == "__main__":
    main()
