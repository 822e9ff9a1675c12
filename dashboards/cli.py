"""`fleetprint dashboards build`: regenerate the dashboards and provisioning files."""

from __future__ import annotations

from pathlib import Path

import click

from fleetprint.cli_options import output_dir_option


@click.group()
def dashboards() -> None:
    """Grafana dashboards and provisioning, generated from code."""


@dashboards.command()
@output_dir_option("dashboards", "json/ and provisioning/")
def build(output_dir: Path) -> None:
    """Write every dashboard's JSON and the provisioning files, by default under ./dashboards: run from
    a clone's top folder, the committed ones."""
    from fleetprint.dashboards.build import write

    for path in write(output_dir):
        click.echo(path)
