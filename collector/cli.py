"""`fleetprint collector ...` commands."""

from __future__ import annotations

import logging
import signal
import tempfile
import threading
from pathlib import Path

import click

from fleetprint.cli_options import collector_config_option, log_level_option
from fleetprint.config import ConfigError, world_readable
from fleetprint.health import exit_with_health, health_options
from fleetprint.logs import configure_logging

log = logging.getLogger("fleetprint.collector")


@click.group()
def collector() -> None:
    """The collector: subscribes to agents' reports, models their footprint, writes to InfluxDB."""


@collector.command()
@collector_config_option
@log_level_option("INFO")
def run(config_path: str | None, log_level: str) -> None:
    """Run the collector until SIGTERM or Ctrl-C; pending points are flushed and acknowledged first."""
    configure_logging(log_level.upper())
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLogger().level))
    from fleetprint.collector.config import load_collector_config

    try:
        config = load_collector_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if config_path and world_readable(config_path) and (config.mqtt.password or config.influxdb.token
                                                        or config.influxdb.password):
        log.warning("%s holds a secret and is readable by every user: chmod 600 it", config_path)

    from fleetprint.collector.budgets.config import load_budgets
    from fleetprint.collector.budgets.evaluate import BudgetEvaluator
    from fleetprint.collector.budgets.job import BudgetJob
    from fleetprint.collector.impact.grid import GridFactors
    from fleetprint.collector.ingest import ingest_from_config
    from fleetprint.collector.mqtt_session import SessionLost
    from fleetprint.collector.rollups import Rollups
    from fleetprint.collector.runner import Collector
    from fleetprint.collector.stats import Counters
    from fleetprint.collector.store.connect import make_influxql, make_sink
    from fleetprint.collector.store.sink import RetryableWriteError
    from fleetprint.mqtt import Topics

    try:
        sink = make_sink(config.influxdb)
    except RetryableWriteError as exc:
        raise click.ClickException(f"cannot reach InfluxDB at {config.influxdb.url}: {exc}") from None
    counters = Counters()
    rollups = None
    if config.rollups.enabled:
        rollup_sink = make_sink(config.influxdb, rollups=True) if config.influxdb.rollup_retention_policy else sink
        rollups = Rollups(make_influxql(config.influxdb), rollup_sink, config.rollups.lag_s)
    grid = GridFactors.from_settings(config.grid, config.sites)
    ingest = ingest_from_config(config, counters, grid, on_sample=rollups.mark if rollups else None)
    service = Collector(config, sink, ingest, counters, rollups, grid.live)
    if config.assets.estate_file:
        from fleetprint.collector.assets.estate import Estate
        from fleetprint.collector.assets.job import EstateJob

        service.estate = EstateJob(Estate(config.assets.estate_file), sink, grid, config.sites, config.impact,
                                   config.attribution, ingest.hosts.agent_coverage, config.assets.catch_up_hours)
    if config.report.deliveries and rollups is not None:
        from fleetprint.report.deliveries import ReportDeliveries

        try:  # where the reports are kept: a folder it cannot write would fail only on the 1st of the month
            Path(config.report.output_dir).mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=config.report.output_dir).close()
        except OSError as exc:
            raise click.ClickException(str(ConfigError(config_path or "defaults", "report.output_dir",
                                                       f"cannot write there: {exc}"))) from None
        service.reports = ReportDeliveries(config, lambda: make_influxql(config.influxdb), sink, rollups.rolled_up_to)
    if config.budgets.file:
        service.budgets = BudgetJob(config.budgets.file, BudgetEvaluator(make_influxql(config.influxdb), load_budgets(
            config.budgets.file).evaluation), sink, Topics(config.mqtt.topic_prefix), service.publish_retained,
            service.leadership, counters)
        signal.signal(signal.SIGHUP, lambda *_: service.budgets.reload(force=True))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("collector %s starting: broker %s:%d, InfluxDB %s", config.collector.id, config.mqtt.host,
             config.mqtt.port, config.influxdb.url)
    try:
        service.run(stop)
    except SessionLost as exc:
        raise click.ClickException(f"{exc}; restart the collector") from None
    log.info("collector stopped: %s", counters.snapshot())


@collector.command()
@collector_config_option
@health_options
def health(config_path: str | None, max_age: float | None, ready: bool) -> None:
    """Exit 0 if the collector running with this config loops on time, else 1; one line says why.

    It reads the file the collector rewrites every health_interval_s (collector.health_file). A
    broker or InfluxDB outage is reported, not failed: the reports wait on the broker meanwhile.
    """
    from fleetprint.collector.config import load_collector_config

    try:
        config = load_collector_config(config_path, check=False)  # light: a probe runs it often
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    exit_with_health(Path(config.collector.health_file), "collector", max_age, ready)
