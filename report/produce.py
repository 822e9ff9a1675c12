"""A period's report written to files: what `fleetprint report` and the scheduled deliveries share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from tqdm import tqdm

from fleetprint.collector.budgets.config import BudgetFile
from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.report.collect import ReportData, collect
from fleetprint.report.csv_export import write_csv_zip
from fleetprint.report.language import Words
from fleetprint.report.model import Scope
from fleetprint.report.period import Period
from fleetprint.report.render_html import render_html
from fleetprint.report.render_pdf import render_pdf

FORMATS = ("html", "pdf", "csv")
SUFFIXES = {"html": ".html", "pdf": ".pdf", "csv": "-csv.zip"}
CONTENT_TYPES = {".html": "text/html", ".pdf": "application/pdf", ".zip": "application/zip"}


@dataclass(frozen=True)
class Produced:
    data: ReportData
    files: list[Path]


def content_type(path: Path) -> str:
    """A written file's media type, from its suffix."""
    return CONTENT_TYPES[path.suffix]


def file_stem(period: Period, scope: Scope) -> str:
    return f"footprint-{period.slug}-{scope.slug}"


def produce(connect: Callable[[], InfluxQL], period: Period, scope: Scope, budget_file: BudgetFile | None,
            formats: tuple[str, ...], base: Path, tz: tzinfo, words: Words, now: datetime, top: int = 10,
            extend_years: float = 1.0, bar: tqdm | None = None) -> Produced:
    """Collect the period's figures and write them as `base` + .html, .pdf, -csv.zip (in FORMATS' order).

    Raises NoData for a period or scope without data, QueryError when InfluxDB fails."""
    bar = bar if bar is not None else tqdm(disable=True)
    data = collect(connect, period, scope, budget_file, now, extend_years, bar)
    bar.reset(total=len(formats))
    base.parent.mkdir(parents=True, exist_ok=True)
    written, html = [], None
    for kind in (kind for kind in FORMATS if kind in formats):
        bar.set_description(f"writing {kind}")
        path = base.with_name(base.name + SUFFIXES[kind])
        if kind in ("html", "pdf") and html is None:
            html = render_html(data, top, budget_file is not None, tz, words)
        if kind == "html":
            path.write_text(html, encoding="utf-8")
        elif kind == "pdf":
            render_pdf(html, path)
        else:
            write_csv_zip(data, path)
        written.append(path)
        bar.update()
    return Produced(data, written)
