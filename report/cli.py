"""`fleetprint report`: a period's footprint as HTML, PDF and CSV, for people who do not open Grafana."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from fleetprint.cli_options import budgets_option, collector_config_option, output_dir_option
from fleetprint.config import ConfigError
from fleetprint.report.extra import INSTALL, missing_modules

if TYPE_CHECKING:
    from fleetprint.collector.config import CollectorConfig
    from fleetprint.report.period import Period

FORMATS = ("html", "pdf", "csv")  # report/produce.py's, named here without importing it (the extra may be missing)


@click.command()
@collector_config_option
@budgets_option
@click.option("--month", "month_text", metavar="YYYY-MM", help="A calendar month (UTC).")
@click.option("--year", "year_text", metavar="YYYY", help="A calendar year (UTC).")
@click.option("--from", "first", metavar="YYYY-MM-DD", help="First day of the period (UTC), with --to.")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="Last day of the period, included.")
@click.option("--service", help="Only this service.")
@click.option("--site", help="Only this site.")
@click.option("--department", help="Only this department (the organisation's unit: hosts' and registered devices').")
@click.option("--extend-years", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="What-if: keep hardware this many years longer.")
@click.option("--tz", "tz_name", metavar="ZONE",
              help="The reader's time zone for the times shown (IANA name, e.g. Europe/Paris); days stay UTC days. "
                   "Default: the collector config's report.tz (UTC).")
@click.option("--lang", type=click.Choice(("en", "fr")),
              help="The language of the HTML and PDF (the CSVs' columns stay the stored names). Default: the "
                   "collector config's report.lang (en).")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 1000), help="Hosts in the top table.")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS), default=FORMATS, show_default=True,
              help="Outputs to write (repeat the option for several).")
@output_dir_option(".", "the report's files")
@click.option("--name", help="File name without extension (default: footprint-<period>-<scope>).")
@click.option("--deliver", metavar="NAME",
              help="Send the period's report of this [[report.deliveries]] entry now, by its mail and webhook, with "
                   "its scope, formats and language, and record it, whatever was sent before (to try the relay, or to "
                   "send again).")
def report(config_path: str | None, budgets_path: str | None, month_text: str | None, year_text: str | None,
           first: str | None, last: str | None, service: str | None, site: str | None, department: str | None,
           extend_years: float, tz_name: str | None, lang: str | None,
           top: int, formats: tuple[str, ...], output_dir: Path, name: str | None, deliver: str | None) -> None:
    """A period's footprint report: HTML page, PDF and CSVs (zip).

    \b
    fleetprint report -c collector.toml --month 2026-10
    fleetprint report -c collector.toml --year 2026 --service payroll --format pdf
    fleetprint report -c collector.toml --from 2026-10-01 --to 2026-10-14 --site paris-dc1
    fleetprint report -c collector.toml --year 2026 --department finance
    fleetprint report -c collector.toml --month 2026-10 --deliver fleet-monthly
    """
    missing = missing_modules(formats)
    if missing:
        raise click.ClickException(f"`fleetprint report` needs the [report] extra (missing: {', '.join(missing)}): "
                                   f"{INSTALL}")
    from tqdm import tqdm

    from fleetprint.collector.budgets.config import load_budgets
    from fleetprint.collector.config import load_collector_config
    from fleetprint.collector.store.connect import make_influxql
    from fleetprint.collector.store.influxql import QueryError
    from fleetprint.report.collect import NoData
    from fleetprint.report.language import Words
    from fleetprint.report.model import Scope
    from fleetprint.report.period import parse_period
    from fleetprint.report.produce import file_stem, produce
    from fleetprint.schema import utc_now

    if sum(1 for given in (service, site, department) if given) > 1:
        raise click.UsageError("give one of --service, --site and --department, not several")
    try:
        period = parse_period(month_text, year_text, first, last)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        config = load_collector_config(config_path)
        path = budgets_path or config.budgets.file
        budget_file = load_budgets(path) if path else None
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if deliver:
        if service or site or department or name:
            raise click.UsageError("--deliver takes its scope and files from the delivery: no --service, --site, "
                                   "--department or --name")
        deliver_now(config, deliver, period, config_path)
        return
    tz_name = tz_name or config.report.tz
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.UsageError(f"--tz {tz_name!r}: not a time zone name (e.g. Europe/Paris, UTC)") from None
    scope = Scope(service=service, site=site, department=department)
    started = time.monotonic()
    base = output_dir / (name or file_stem(period, scope))
    with tqdm(unit="step", disable=None, dynamic_ncols=True, leave=False) as bar:
        try:
            produced = produce(lambda: make_influxql(config.influxdb), period, scope, budget_file, formats, base, tz,
                               Words(lang or config.report.lang), utc_now(), top, extend_years, bar)
        except QueryError as exc:
            raise click.ClickException(str(exc)) from None
        except NoData as exc:
            raise click.ClickException(f"nothing to report: {exc}") from None
    data = produced.data
    click.echo(f"{period.label}, {scope.label}: {data.totals.kgco2e:,.1f} kgCO2e, {data.totals.energy_kwh:,.1f} kWh, "
               f"{len(data.hosts)} hosts; {time.monotonic() - started:.1f} s")
    for path in produced.files:
        click.echo(f"wrote {path}")


def deliver_now(config: CollectorConfig, name: str, period: Period, config_path: str | None) -> None:
    """`--deliver`: one delivery's report sent now; exit 1 if a channel failed."""
    from fleetprint.collector.store.connect import make_influxql, make_sink
    from fleetprint.collector.store.influxql import QueryError
    from fleetprint.collector.store.sink import RetryableWriteError
    from fleetprint.report.collect import NoData
    from fleetprint.report.deliveries import ReportDeliveries
    from fleetprint.schema import utc_now

    try:
        deliveries = ReportDeliveries(config, lambda: make_influxql(config.influxdb), make_sink(config.influxdb),
                                      lambda: None)
        results = deliveries.deliver_now(name, period, utc_now())
    except KeyError:
        raise click.UsageError(f"--deliver {name}: no such delivery in the report.deliveries of "
                               f"{config_path or 'the collector config'}") from None
    except NoData as exc:
        raise click.ClickException(f"nothing to report: {exc}") from None
    except (QueryError, RetryableWriteError) as exc:
        raise click.ClickException(str(exc)) from None
    for channel, (ok, detail) in results.items():
        click.echo(f"{channel}: {'sent' if ok else 'FAILED'}: {detail}")
    if not all(ok for ok, _ in results.values()):
        raise SystemExit(1)
