"""Which of the `[report]` extra's modules a report needs and this Python lacks, found without
importing them: `fleetprint report` and a collector that delivers reports say so before any import."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.util import find_spec

REPORT_MODULES = ("jinja2", "matplotlib", "weasyprint", "tqdm", "influxdb_client")
INSTALL = "pip install 'fleetprint[report]'"


def missing_modules(formats: Iterable[str]) -> list[str]:
    """The [report] extra's modules these formats need that are not installed (WeasyPrint: the PDF only)."""
    needed = [name for name in REPORT_MODULES if not (name == "weasyprint" and "pdf" not in formats)]
    return [name for name in needed if find_spec(name) is None]
