"""`fleetprint dashboards build`: regenerate the dashboards and provisioning files."""

from __future__ import annotations

from pathlib import Path

import click

from fleetprint.cli_options import collector_config_option, output_dir_option
from fleetprint.config import ConfigError


@click.group()
def dashboards() -> None:
    """Grafana dashboards and provisioning, generated from code."""


@dashboards.command()
@output_dir_option("dashboards", "json/ and provisioning/")
@collector_config_option
def build(output_dir: Path, config_path: str | None) -> None:
    """Write every dashboard's JSON and the provisioning files, by default under ./dashboards: run from
    a clone's top folder, the committed ones. The rollup panels select the retention policy of the
    config's influxdb.rollup_retention_policy, else `rollups` (docs/dashboards.md)."""
    from fleetprint.collector.config import load_collector_config
    from fleetprint.dashboards.build import write
    from fleetprint.dashboards.definitions import ROLLUP_POLICY

    try:
        policy = load_collector_config(config_path).influxdb.rollup_retention_policy if config_path else ""
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    for path in write(output_dir, policy or ROLLUP_POLICY):
        click.echo(path)
