"""`fleetprint live`: the fleet's power and footprint now, read back from InfluxDB (InfluxQL)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import click

from fleetprint.cli_options import collector_config_option
from fleetprint.collector.config import load_collector_config
from fleetprint.collector.store.connect import make_influxql
from fleetprint.collector.store.influxql import InfluxQL, QueryError
from fleetprint.collector.store.points import HOST_MEASUREMENT
from fleetprint.config import ConfigError


@dataclass(frozen=True)
class HostNow:
    """One host's recent figures: hourly rates are extrapolated from the window's sums."""

    host: str
    power_source: str
    power_w: float
    usage_gwp_gco2e_per_h: float
    embodied_gwp_gco2e_per_h: float
    samples: int


def fleet_now(influxql: InfluxQL, window_s: int) -> list[HostNow]:
    """Per host: mean power over the window and the GWP rates it implies."""
    rows = influxql.query(
        f"SELECT mean(power_w) AS power_w, sum(usage_gwp_gco2e) AS usage, sum(embodied_gwp_gco2e) AS embodied, "
        f"sum(interval_s) AS covered_s, count(power_w) AS n FROM {HOST_MEASUREMENT} "
        f"WHERE time > now() - {window_s}s GROUP BY host, power_source")
    return [
        HostNow(row["host"], row["power_source"], row["power_w"], row["usage"] * 3600 / row["covered_s"],
                row["embodied"] * 3600 / row["covered_s"], row["n"])
        for row in rows if row.get("covered_s")
    ]


def render(hosts: list[HostNow]) -> str:
    header = (f"{'host':<28} {'power source':<13} {'power W':>9} {'use gCO2e/h':>12} {'embodied gCO2e/h':>17} "
              f"{'samples':>8}")
    lines = [header, "-" * len(header)]
    for h in sorted(hosts, key=lambda h: h.host):
        lines.append(f"{h.host:<28} {h.power_source:<13} {h.power_w:>9.1f} {h.usage_gwp_gco2e_per_h:>12.2f} "
                     f"{h.embodied_gwp_gco2e_per_h:>17.2f} {h.samples:>8}")
    if not hosts:
        lines.append("(no samples yet in the window)")
    return "\n".join(lines)


@click.command()
@collector_config_option
@click.option("--window", "window_s", default=120, show_default=True, type=click.IntRange(5, 86400),
              help="Seconds of samples to average.")
@click.option("--every", "every_s", default=5.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Refresh period in seconds.")
@click.option("--once", is_flag=True, help="Print once and exit.")
def live(config_path: str | None, window_s: int, every_s: float, once: bool) -> None:
    """Show each host's modelled or measured power and its footprint rate, refreshed until Ctrl-C."""
    try:
        influxql = make_influxql(load_collector_config(config_path).influxdb)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        while True:
            table = render(fleet_now(influxql, window_s))
            stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            click.echo(f"\n{stamp} (last {window_s} s)\n{table}")
            if once:
                return
            time.sleep(every_s)
    except KeyboardInterrupt:
        pass
    except QueryError as exc:
        raise click.ClickException(str(exc)) from None
