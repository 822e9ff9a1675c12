"""`fleetprint dashboards build`: regenerate the dashboards and provisioning files."""

from __future__ import annotations

from pathlib import Path

import click

DEFAULT_FOLDER = Path(__file__).resolve().parent


@click.group()
def dashboards() -> None:
    """Grafana dashboards and provisioning, generated from code."""


@dashboards.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_FOLDER, show_default=True,
              help="Folder for json/ and provisioning/.")
def build(out: Path) -> None:
    """Write every dashboard's JSON and the provisioning files."""
    from fleetprint.dashboards.build import write

    for path in write(out):
        click.echo(path)
