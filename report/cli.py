"""`fleetprint report`: a period's footprint as HTML, PDF and CSV, for people who do not open Grafana."""

from __future__ import annotations

import time
from importlib.util import find_spec
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from fleetprint.cli_options import budgets_option, collector_config_option, output_dir_option
from fleetprint.config import ConfigError

FORMATS = ("html", "pdf", "csv")
REPORT_MODULES = ("jinja2", "matplotlib", "weasyprint", "tqdm", "influxdb_client")  # the [report] extra's


def missing_modules(formats: tuple[str, ...]) -> list[str]:
    """The [report] extra's modules these formats need that are not installed."""
    needed = [name for name in REPORT_MODULES if not (name == "weasyprint" and "pdf" not in formats)]
    return [name for name in needed if find_spec(name) is None]


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
@click.option("--tz", "tz_name", default="UTC", show_default=True, metavar="ZONE",
              help="The reader's time zone for the times shown (IANA name, e.g. Europe/Paris); days stay UTC days.")
@click.option("--lang", default="en", show_default=True, type=click.Choice(("en", "fr")),
              help="The language of the HTML and PDF (the CSVs' columns stay the stored names).")
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 1000), help="Hosts in the top table.")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS), default=FORMATS, show_default=True,
              help="Outputs to write (repeat the option for several).")
@output_dir_option(".", "the report's files")
@click.option("--name", help="File name without extension (default: footprint-<period>-<scope>).")
def report(config_path: str | None, budgets_path: str | None, month_text: str | None, year_text: str | None,
           first: str | None, last: str | None, service: str | None, site: str | None, department: str | None,
           extend_years: float, tz_name: str, lang: str,
           top: int, formats: tuple[str, ...], output_dir: Path, name: str | None) -> None:
    """A period's footprint report: HTML page, PDF and CSVs (zip).

    \b
    fleetprint report -c collector.toml --month 2026-10
    fleetprint report -c collector.toml --year 2026 --service payroll --format pdf
    fleetprint report -c collector.toml --from 2026-10-01 --to 2026-10-14 --site paris-dc1
    fleetprint report -c collector.toml --year 2026 --department finance
    """
    missing = missing_modules(formats)
    if missing:
        raise click.ClickException(f"`fleetprint report` needs the [report] extra (missing: {', '.join(missing)}): "
                                   "pip install 'fleetprint[report]'")
    from tqdm import tqdm

    from fleetprint.collector.budgets.config import load_budgets
    from fleetprint.collector.config import load_collector_config
    from fleetprint.collector.store.connect import make_influxql
    from fleetprint.collector.store.influxql import QueryError
    from fleetprint.report.collect import NoData, collect
    from fleetprint.report.csv_export import write_csv_zip
    from fleetprint.report.language import Words
    from fleetprint.report.model import Scope
    from fleetprint.report.period import parse_period
    from fleetprint.report.render_html import render_html
    from fleetprint.report.render_pdf import render_pdf
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
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.UsageError(f"--tz {tz_name!r}: not a time zone name (e.g. Europe/Paris, UTC)") from None
    scope = Scope(service=service, site=site, department=department)
    started = time.monotonic()
    output_dir.mkdir(parents=True, exist_ok=True)
    base = output_dir / (name or f"footprint-{period.slug}-{scope.slug}")
    written = []
    with tqdm(unit="step", disable=None, dynamic_ncols=True, leave=False) as bar:
        try:
            data = collect(lambda: make_influxql(config.influxdb), period, scope, budget_file, utc_now(), extend_years,
                           bar)
        except QueryError as exc:
            raise click.ClickException(str(exc)) from None
        except NoData as exc:
            raise click.ClickException(f"nothing to report: {exc}") from None
        bar.reset(total=len(formats))
        html = None
        for kind in FORMATS:
            if kind not in formats:
                continue
            bar.set_description(f"writing {kind}")
            if kind in ("html", "pdf") and html is None:
                html = render_html(data, top, budget_file is not None, tz, Words(lang))
            if kind == "html":
                written.append(base.with_name(base.name + ".html"))
                written[-1].write_text(html, encoding="utf-8")
            elif kind == "pdf":
                written.append(base.with_name(base.name + ".pdf"))
                render_pdf(html, written[-1])
            else:
                written.append(base.with_name(base.name + "-csv.zip"))
                write_csv_zip(data, written[-1])
            bar.update()
    click.echo(f"{period.label}, {scope.label}: {data.totals.kgco2e:,.1f} kgCO2e, {data.totals.energy_kwh:,.1f} kWh, "
               f"{len(data.hosts)} hosts; {time.monotonic() - started:.1f} s")
    for path_written in written:
        click.echo(f"wrote {path_written}")
