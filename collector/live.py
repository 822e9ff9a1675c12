"""`fleetprint live`: the fleet's power and footprint now, read back from the InfluxDB of the
collector's config (InfluxDB 1.x credentials or a 2.x token), redrawn until Ctrl-C."""

from __future__ import annotations

import time
from datetime import datetime

import click

from fleetprint.cli_options import collector_config_option
from fleetprint.collector.config import load_collector_config
from fleetprint.collector.store.connect import make_influxql
from fleetprint.collector.store.influxql import QueryError
from fleetprint.config import ConfigError
from fleetprint.schema import utc_now


@click.command()
@collector_config_option
@click.option("--window", "window_s", default=120, show_default=True, type=click.IntRange(5, 86400),
              help="Seconds of samples a host's figures are averaged over.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="Hosts shown, by footprint rate.")
@click.option("--every", "every_s", default=5.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Redraw period in seconds.")
@click.option("--once", is_flag=True, help="Print once and exit (1 if the database cannot be read).")
def live(config_path: str | None, window_s: int, top: int, every_s: float, once: bool) -> None:
    """The fleet's total power and gCO2e/h, its top hosts and its last hour, redrawn until Ctrl-C.

    \b
    fleetprint live -c /etc/fleetprint/collector.toml
    fleetprint live -c collector.toml --top 20 --once
    """
    from rich.console import Console
    from rich.live import Live

    from fleetprint.collector.live_figures import LiveFigures, live_figures
    from fleetprint.collector.live_view import render

    try:
        settings = load_collector_config(config_path).influxdb
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    influxql = make_influxql(settings)
    where = f"the [influxdb] section of {config_path}" if config_path else "the built-in [influxdb] defaults"

    def read() -> LiveFigures:
        return live_figures(influxql, window_s, utc_now())

    try:
        figures = read()
    except QueryError as exc:
        raise click.ClickException(f"cannot read the figures: {exc} (InfluxDB as {where} says)") from None
    console = Console()
    if once:
        console.print(render(figures, top))
        return
    trouble: tuple[str, datetime] | None = None
    try:
        with Live(render(figures, top), console=console, auto_refresh=False) as view:
            while True:
                time.sleep(every_s)
                try:
                    figures, trouble = read(), None
                except QueryError as exc:
                    trouble = (str(exc), trouble[1] if trouble else utc_now())
                view.update(render(figures, top, *(trouble or (None, None))), refresh=True)
    except KeyboardInterrupt:
        pass

