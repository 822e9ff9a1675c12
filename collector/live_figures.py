"""What `fleetprint live` shows, read back from InfluxDB (InfluxQL): the hosts reporting now, the
registered devices' last hour, and the fleet's power minute by minute over the last hour.

Agents' hosts and the asset register's devices share `fp_host`; a device's `host` tag is
`<source>/<id>` and a host id never holds a `/` (docs/storage.md), which tells them apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.collector.store.points import HOST_MEASUREMENT
from fleetprint.timestamps import epoch_ms

AGENT_HOSTS = r"host !~ /\//"
REGISTERED_DEVICES = r"host =~ /\//"
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class HostNow:
    """One host over the window: mean power, and its footprint's hourly rates (usage and embodied)."""

    host: str
    site: str
    power_sources: str
    power_w: float
    usage_gco2e_per_h: float
    embodied_gco2e_per_h: float
    samples: int

    @property
    def gco2e_per_h(self) -> float:
        return self.usage_gco2e_per_h + self.embodied_gco2e_per_h


@dataclass(frozen=True)
class EstateHour:
    """The asset register's devices over their last hour written (the estate job writes whole hours)."""

    ended_at: datetime
    devices: int
    power_w: float
    gco2e_per_h: float


@dataclass(frozen=True)
class LiveFigures:
    taken_at: datetime
    window_s: int
    hosts: list[HostNow]
    estate: EstateHour | None
    minutes: list[tuple[datetime, float | None]]  # the last hour's whole minutes: fleet power (W), None: no sample

    @property
    def hosts_power_w(self) -> float:
        return sum(h.power_w for h in self.hosts)

    @property
    def hosts_gco2e_per_h(self) -> float:
        return sum(h.gco2e_per_h for h in self.hosts)

    @property
    def total_power_w(self) -> float:
        return self.hosts_power_w + (self.estate.power_w if self.estate else 0.0)

    @property
    def total_gco2e_per_h(self) -> float:
        return self.hosts_gco2e_per_h + (self.estate.gco2e_per_h if self.estate else 0.0)

    def top_hosts(self, count: int) -> list[HostNow]:
        """The hosts with the largest footprint rate, largest first."""
        return sorted(self.hosts, key=lambda h: (-h.gco2e_per_h, h.host))[:count]


def hosts_now(influxql: InfluxQL, window_s: int, now: datetime) -> list[HostNow]:
    """Per agent host over the last `window_s`: power from its energy, rates from its sums."""
    rows = influxql.query(
        f"SELECT sum(energy_wh) AS energy_wh, sum(usage_gwp_gco2e) AS usage, sum(embodied_gwp_gco2e) AS embodied, "
        f"sum(interval_s) AS covered_s, count(energy_wh) AS samples FROM {HOST_MEASUREMENT} "
        f"WHERE time > {epoch_ms(now) - window_s * 1000}ms AND time <= {epoch_ms(now)}ms AND {AGENT_HOSTS} "
        f"GROUP BY host, site, power_source")
    sums: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)  # a host's rows, one per power source
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        if row.get("covered_s"):
            key = (row["host"], row.get("site") or "")
            sums[key].update({name: row[name] or 0 for name in ("energy_wh", "usage", "embodied", "covered_s",
                                                                "samples")})
            sources[key].add(row.get("power_source") or "?")
    return [HostNow(host, site, "+".join(sorted(sources[(host, site)])), s["energy_wh"] * 3600 / s["covered_s"],
                    s["usage"] * 3600 / s["covered_s"], s["embodied"] * 3600 / s["covered_s"], int(s["samples"]))
            for (host, site), s in sums.items()]


def estate_last_hour(influxql: InfluxQL, now: datetime) -> EstateHour | None:
    """The registered devices' latest hour written in the last two (their points are stamped at its end)."""
    rows = influxql.query(
        f"SELECT sum(energy_wh) AS energy_wh, sum(usage_gwp_gco2e) AS usage, sum(embodied_gwp_gco2e) AS embodied, "
        f"sum(asset_quantity) AS devices FROM {HOST_MEASUREMENT} "
        f"WHERE time > {epoch_ms(now - timedelta(hours=2))}ms AND time <= {epoch_ms(now)}ms AND {REGISTERED_DEVICES} "
        f"GROUP BY time(1h) fill(none)")
    if not rows:
        return None
    last = rows[-1]
    return EstateHour(datetime.fromtimestamp(last["time"] / 1000, timezone.utc), int(last["devices"] or 0),
                      last["energy_wh"] or 0.0, (last["usage"] or 0.0) + (last["embodied"] or 0.0))


def last_hour_by_minute(influxql: InfluxQL, now: datetime) -> list[tuple[datetime, float | None]]:
    """The agent hosts' power over each whole minute of the last hour: the energy of the samples
    stamped in the minute, over a minute (hosts sampling less often than every minute make it uneven)."""
    end = now.replace(second=0, microsecond=0)
    start = end - 60 * MINUTE
    rows = influxql.query(
        f"SELECT sum(energy_wh) AS energy_wh FROM {HOST_MEASUREMENT} "
        f"WHERE time >= {epoch_ms(start)}ms AND time < {epoch_ms(end)}ms AND {AGENT_HOSTS} "
        f"GROUP BY time(1m) fill(none)")
    energy = {row["time"]: row["energy_wh"] for row in rows}
    minutes = [start + i * MINUTE for i in range(60)]
    return [(minute, energy[epoch_ms(minute)] * 60 if epoch_ms(minute) in energy else None) for minute in minutes]


def live_figures(influxql: InfluxQL, window_s: int, now: datetime) -> LiveFigures:
    """Everything the view shows, from three queries."""
    return LiveFigures(now, window_s, hosts_now(influxql, window_s, now), estate_last_hour(influxql, now),
                       last_hour_by_minute(influxql, now))
