"""The report's tables as tidy CSVs in one zip: one row per thing, one column per figure, units in the headers."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from fleetprint.impacts import MEASURED_STEPS, Impacts
from fleetprint.report.collect import ReportData
from fleetprint.report.model import criteria

IMPACT_COLUMNS = ["energy_kwh", "use_gwp_kgco2e", "manufacture_gwp_kgco2e", "total_gwp_kgco2e", "use_adp_kgsbeq",
                  "manufacture_adp_kgsbeq", "use_pe_mj", "manufacture_pe_mj"]


def _impacts(impacts: Impacts) -> list[float]:
    return [impacts.energy_kwh, impacts.usage_kgco2e, impacts.embodied_kgco2e, impacts.kgco2e,
            impacts.usage_adp_kgsbeq, impacts.embodied_adp_kgsbeq, impacts.usage_pe_mj, impacts.embodied_pe_mj]


def tables(data: ReportData) -> dict[str, list[list[object]]]:
    """File name -> rows (the first one the header)."""
    totals: list[list[object]] = [["criterion", "unit", "use", "manufacture", "total"]]
    totals += [[name, unit, use, made, use + made] for name, unit, use, made in criteria(data.totals)]
    totals.append(["Energy", "kWh", data.totals.energy_kwh, 0.0, data.totals.energy_kwh])
    hosts: list[list[object]] = [["host", "kind", "site", *IMPACT_COLUMNS, "samples", "covered_h",
                                  "past_lifetime_kwh", "measured_kwh"]]
    for host in sorted(data.hosts.values(), key=lambda h: -h.impacts.kgco2e):
        measured = sum(wh for step, wh in host.energy_by_step.items() if step in MEASURED_STEPS)
        hosts.append([host.host, host.kind, host.site, *_impacts(host.impacts), host.samples, host.covered_s / 3600,
                      host.past_lifetime_wh / 1000, measured / 1000])
    budgets: list[list[object]] = [["budget", "service", "site", "period", "unit", "periods_judged", "pro_rata",
                                    "periods_exceeded", "limit", "spent", "outcome"]]
    for outcome in data.outcomes:
        for unit, spent, limit in (("kgCO2e", outcome.spent_kgco2e, outcome.limit_kgco2e),
                                   ("kWh", outcome.spent_kwh, outcome.limit_kwh)):
            if limit is not None:
                budget = outcome.budget
                budgets.append([budget.id, budget.service, budget.site or "", budget.period, unit, outcome.periods,
                                outcome.pro_rata, outcome.exceeded, limit, spent, outcome.state])
    whatif: list[list[object]] = [["kind", "hosts", "mean_lifetime_years", "extend_years",
                                   "manufacture_kgco2e_per_year",
                                   "kept_kgco2e_per_year", "saving_kgco2e_per_year", "period_manufacture_kgco2e",
                                   "period_saving_kgco2e"]]
    for row in data.whatif.rows + [data.whatif.total]:
        whatif.append([row.kind, row.hosts, row.mean_lifetime_years, data.whatif.years, row.per_year_kg,
                       row.kept_per_year_kg, row.saving_per_year_kg, row.period_kg, row.saving_period_kg])
    return {
        "totals.csv": totals,
        "services.csv": [["service", *IMPACT_COLUMNS]] + [[name, *_impacts(i)] for name, i in data.services.items()],
        "sites.csv": [["site", *IMPACT_COLUMNS]] + [[name, *_impacts(i)] for name, i in data.sites.items()],
        "trend.csv": [[f"{data.period.trend_unit()}_utc", *IMPACT_COLUMNS]] + [
            [f"{at:%Y-%m-%d}", *_impacts(i)] for at, i in data.trend],
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
