"""The report's tables as tidy CSVs in one zip: one row per thing, one column per figure, units in the headers.

The impact columns are the stored fields (IMPACT_FIELDS, in the stored units: Wh, gCO2e, kgSbeq, MJ),
so that a CSV reads like an InfluxQL sum over fp_host or fp_service (docs/storage.md).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from fleetprint.impacts import IMPACT_FIELDS, MEASURED_STEPS, Impacts
from fleetprint.report.collect import ReportData
from fleetprint.report.model import criteria

IMPACT_COLUMNS = [*IMPACT_FIELDS, "total_gwp_gco2e"]


def _impacts(impacts: Impacts) -> list[float]:
    return [*(getattr(impacts, name) or 0.0 for name in IMPACT_FIELDS),
            impacts.usage_gwp_gco2e + impacts.embodied_gwp_gco2e]


def tables(data: ReportData) -> dict[str, list[list[object]]]:
    """File name -> rows (the first one the header)."""
    totals: list[list[object]] = [["criterion", "unit", "usage", "embodied", "total"]]
    totals += [[name, unit, usage, embodied, usage + embodied] for name, unit, usage, embodied in criteria(data.totals)]
    totals.append(["Energy", "kWh", data.totals.energy_kwh, 0.0, data.totals.energy_kwh])
    hosts: list[list[object]] = [["host", "kind", "site", *IMPACT_COLUMNS, "samples", "covered_h",
                                  "past_lifetime_energy_wh", "measured_energy_wh", "declared_embodied_gwp_gco2e"]]
    for host in sorted(data.hosts.values(), key=lambda h: -h.impacts.kgco2e):
        measured = sum(wh for step, wh in host.energy_by_step.items() if step in MEASURED_STEPS)
        hosts.append([host.host, host.kind, host.site, *_impacts(host.impacts), host.samples, host.covered_s / 3600,
                      host.past_lifetime_wh, measured, host.embodied_by_source.get("declared", 0.0)])
    budgets: list[list[object]] = [["budget", "service", "department", "site", "period", "unit", "periods_judged",
                                    "pro_rata", "periods_exceeded", "limit", "spent", "outcome"]]
    for outcome in data.outcomes:
        for unit, spent, limit in (("kgCO2e", outcome.spent_kgco2e, outcome.limit_kgco2e),
                                   ("kWh", outcome.spent_kwh, outcome.limit_kwh)):
            if limit is not None:
                budget = outcome.budget
                budgets.append([budget.id, budget.service or "", budget.department or "", budget.site or "",
                                budget.period, unit, outcome.periods,
                                outcome.pro_rata, outcome.exceeded, limit, spent, outcome.state])
    whatif: list[list[object]] = [["kind", "hosts", "mean_lifetime_years", "extend_years", "embodied_kgco2e_per_year",
                                   "kept_kgco2e_per_year", "saving_kgco2e_per_year", "period_embodied_kgco2e",
                                   "period_saving_kgco2e"]]
    for row in data.whatif.rows + [data.whatif.total]:
        whatif.append([row.kind, row.hosts, row.mean_lifetime_years, data.whatif.years, row.per_year_kg,
                       row.kept_per_year_kg, row.saving_per_year_kg, row.period_kg, row.saving_period_kg])
    return {
        "totals.csv": totals,
        "services.csv": [["service", *IMPACT_COLUMNS]] + [[name, *_impacts(i)] for name, i in data.services.items()],
        "sites.csv": [["site", *IMPACT_COLUMNS]] + [[name, *_impacts(i)] for name, i in data.sites.items()],
        "departments.csv": [["department", *IMPACT_COLUMNS]] + [[name, *_impacts(i)]
                                                                for name, i in data.departments.items()],
        "trend.csv": [[f"{data.period.trend_unit()}_utc", *IMPACT_COLUMNS, "partial"]] + [
            [f"{point.start:%Y-%m-%d}", *(_impacts(point.impacts) if point.impacts else [""] * len(IMPACT_COLUMNS)),
             point.partial] for point in data.trend],
        "hosts.csv": hosts,
        "budgets.csv": budgets,
        "whatif.csv": whatif,
    }


def write_csv_zip(data: ReportData, out: Path) -> None:
    """All the tables, one CSV each (UTF-8, comma-separated), in a zip file."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in tables(data).items():
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(rows)
            archive.writestr(name, text.getvalue())
