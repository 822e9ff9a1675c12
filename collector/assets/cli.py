"""`fleetprint assets ...`: import an asset register into the estate file, and list the estate."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import click

from fleetprint.cli_options import collector_config_option
from fleetprint.config import ConfigError


def _estate_path(config_path: str | None, estate_file: str | None) -> str:
    if estate_file:
        return estate_file
    from fleetprint.collector.config import load_collector_config

    try:
        config = load_collector_config(config_path, check=False)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not config.assets.estate_file:
        raise click.UsageError("no estate file: set [assets] estate_file in the collector config, or give --estate")
    return config.assets.estate_file


estate_option = click.option("--estate", "estate_file", type=click.Path(dir_okay=False),
                             help="The estate file (default: the collector config's [assets] estate_file).")


@click.group()
def assets() -> None:
    """Devices without an agent, from the asset register (docs/assets.md)."""


@assets.command("import")
@collector_config_option
@estate_option
@click.option("--source", required=True, help="The register's name: a later import of the same source replaces it.")
@click.option("--format", "file_format", type=click.Choice(["csv", "inventory"]), default="csv", show_default=True,
              help="csv: our columns or mapped ones; inventory: GLPI Agent, FusionInventory or OCS Inventory "
                   "XML or GLPI JSON files (or directories of them).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML: the register's own column names ([columns]) and category names ([categories]).")
@click.option("--site", help="Site of the devices that name none.")
@click.option("--department", help="Department of the devices that name none.")
@click.option("--service", help="Service of the devices that name none.")
@click.option("--zone", help="Electricity zone of the devices that name none (ISO 3166 alpha-3).")
@click.option("--from", "listed_from", type=click.DateTime(["%Y-%m-%d"]),
              help="Count devices new to the register from this day (UTC), not from now: the collector writes the "
                   "hours since then, up to [assets] catch_up_hours back.")
@click.option("--dry-run", is_flag=True, help="Check the register and say what would change; write nothing.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def import_(config_path: str | None, estate_file: str | None, source: str, file_format: str, mapping: Path | None,
            site: str | None, department: str | None, service: str | None, zone: str | None,
            listed_from: datetime | None, dry_run: bool,
            files: tuple[Path, ...]) -> None:
    """Import FILES as the register SOURCE: new devices are added, changed ones updated, the ones it no
    longer lists are disposed of from the next hour (their history stays). All or nothing."""
    from fleetprint.collector.assets.csv_register import Mapping, read_csv
    from fleetprint.collector.assets.estate import Estate
    from fleetprint.collector.assets.inventories import read_inventories
    from fleetprint.collector.assets.register import RegisterError
    from fleetprint.schema import utc_now

    path = _estate_path(config_path, estate_file)
    started = time.monotonic()
    try:
        own = Mapping.load(mapping) if mapping else Mapping()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    defaults = {key: value for key, value in (("site", site), ("department", department), ("service", service),
                                               ("zone", zone)) if value}
    left_out: list[str] = []
    try:
        if file_format == "csv":
            devices = []
            for file in files:
                devices.extend(_with_defaults(read_csv(file.read_bytes(), str(file), own), defaults))
        else:
            devices, left_out = read_inventories(list(files), source, defaults, own.categories)
    except RegisterError as exc:
        raise click.ClickException(str(exc)) from None
    for reason in left_out:
        click.echo(f"left out: {reason}", err=True)
    kinds = Counter(device.category for device in devices)
    summary = ", ".join(f"{count} {name}" for name, count in kinds.most_common())
    if dry_run:
        click.echo(f"{source}: {sum(d.quantity for d in devices)} devices in {len(devices)} rows ({summary}); "
                   "nothing written (--dry-run)")
        return
    estate = Estate(path)
    try:
        result = estate.replace_source(source, devices, utc_now(), ", ".join(str(f) for f in files),
                                       listed_from.replace(tzinfo=timezone.utc) if listed_from else None)
    finally:
        estate.close()
    click.echo(f"{source}: {len(devices)} rows ({summary}): {result.added} added, {result.changed} changed, "
               f"{result.unchanged} unchanged, {result.removed} removed from the register "
               f"(in {time.monotonic() - started:.1f} s, {path})")


def _with_defaults(devices, defaults: dict[str, str]):
    from dataclasses import replace

    return [replace(device, **{key: value for key, value in defaults.items() if not getattr(device, key)})
            for device in devices]


@assets.command("list")
@collector_config_option
@estate_option
@click.option("--all", "show_removed", is_flag=True, help="Also the devices the registers no longer list.")
def list_(config_path: str | None, estate_file: str | None, show_removed: bool) -> None:
    """The estate: devices per source, category, site and department."""
    from fleetprint.collector.assets.estate import Estate

    estate = Estate(_estate_path(config_path, estate_file))
    try:
        devices = [d for d in estate.devices() if show_removed or d.removed_at is None]
    finally:
        estate.close()
    rows = Counter((d.source, d.asset.category, d.asset.site, d.asset.department,
                    "removed" if d.removed_at else "listed") for d in devices for _ in range(d.asset.quantity))
    click.echo(f"{'source':16} {'category':22} {'site':16} {'department':20} {'state':8} devices")
    for (source, category, site, department, state), count in sorted(rows.items()):
        click.echo(f"{source:16} {category:22} {site or '-':16} {department or '-':20} {state:8} {count}")
