"""The report as one self-contained HTML page (charts inlined as SVG), for screens, mail and print."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from fleetprint.impacts import Impacts
from fleetprint.report import charts
from fleetprint.report.collect import GAP_COVERAGE, ReportData
from fleetprint.report.model import criteria
from fleetprint.report.outcomes import BudgetOutcome
from fleetprint.report.period import DAY


def num(value: float) -> str:
    """A figure with thousands separators and sensible precision: 12,345 · 12.3 · 0.00532."""
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}" if whole else "–"


def change(now: float, before: float | None) -> tuple[str, str]:
    """("+4.2 % vs previous period", "up") or ("", "") without a previous figure."""
    if not before:
        return "", ""
    delta = 100 * (now - before) / before
    return f"{delta:+.1f} % vs previous period", "up" if delta > 0 else "down"


def _cards(data: ReportData) -> list[dict[str, str]]:
    previous = data.previous
    cards = []
    for label, value, before in (
            ("Carbon footprint (kgCO2e, use + manufacture)", data.totals.kgco2e, previous and previous.kgco2e),
            ("Energy (kWh)", data.totals.energy_kwh, previous and previous.energy_kwh),
            ("Abiotic depletion (kgSbeq)", data.totals.usage_adp_kgsbeq + data.totals.embodied_adp_kgsbeq,
             previous and previous.usage_adp_kgsbeq + previous.embodied_adp_kgsbeq),
            ("Primary energy (MJ)", data.totals.usage_pe_mj + data.totals.embodied_pe_mj,
             previous and previous.usage_pe_mj + previous.embodied_pe_mj)):
        text, direction = change(value, before)
        cards.append({"label": label, "value": num(value), "change": text, "direction": direction})
    return cards


def _key_points(data: ReportData) -> list[str]:
    totals, points = data.totals, []
    if not totals.kgco2e:
        return ["No data was stored for this scope and period."]
    points.append(f"Manufacture accounts for {pct(totals.embodied_kgco2e, totals.kgco2e)} % of the carbon footprint, "
                  f"use for {pct(totals.usage_kgco2e, totals.kgco2e)} %.")
    if len(data.services) > 1:
        name, impacts = next(iter(data.services.items()))
        points.append(f"The largest service is {name}: {num(impacts.kgco2e)} kgCO2e "
                      f"({pct(impacts.kgco2e, sum(i.kgco2e for i in data.services.values()))} %).")
    exceeded = [o.budget.id for o in data.outcomes if o.state == "exceeded"]
    if data.outcomes:
        points.append(f"{len(exceeded)} of {len(data.outcomes)} budgets exceeded"
                      + (f": {', '.join(exceeded)}." if exceeded else "."))
    if data.whatif.total.hosts:
        points.append(f"Keeping hardware {_years(data.whatif.years)} longer would save "
                      f"{num(data.whatif.total.saving_per_year_kg)} kgCO2e a year of manufacture impacts.")
    points.append(f"{pct(data.quality.measured_share, 1)} % of the energy is measured, the rest modelled.")
    if data.quality.embodied_by_source:
        points.append(f"{pct(data.quality.declared_embodied_share, 1)} % of the manufacture GWP is its makers' "
                      "declared figure, the rest modelled.")
    return points


def _years(years: float) -> str:
    return f"{years:g} year" + ("" if years == 1 else "s")


def _trend_summary(data: ReportData) -> str:
    points = [(at, impacts) for at, impacts in data.trend if impacts.energy_wh]
    if len(points) < 2:
        return ""
    unit = data.period.trend_unit()
    fmt = "%a %d %b" if unit == "day" else "%B"
    high = max(points, key=lambda item: item[1].kgco2e)
    low = min(points, key=lambda item: item[1].kgco2e)
    return (f"Highest {unit}: {high[0]:{fmt}}, {num(high[1].kgco2e)} kgCO2e; lowest: {low[0]:{fmt}}, "
            f"{num(low[1].kgco2e)} kgCO2e.")


def _budget_lines(outcome: BudgetOutcome) -> list[tuple[str, float, float]]:
    lines = []
    if outcome.limit_kgco2e is not None:
        lines.append(("kgCO2e", outcome.spent_kgco2e, outcome.limit_kgco2e))
    if outcome.limit_kwh is not None:
        lines.append(("kWh", outcome.spent_kwh, outcome.limit_kwh))
    return lines


def _trajectory_text(outcome: BudgetOutcome) -> str:
    trajectory = outcome.budget.trajectory
    if trajectory is None:
        return "–"
    return (f"−{trajectory.reduction_pct_per_year:g} %/year from {trajectory.baseline_year}: "
            f"×{outcome.trajectory_factor:.3f}")


def _named_departments(departments: dict[str, Impacts]) -> dict[str, Impacts]:
    """The departments, those of no department under a name a reader understands; none when no host has one."""
    if not any(departments):
        return {}
    return {name or "(no department)": impacts for name, impacts in departments.items()}


def title(data: ReportData) -> str:
    scope = "" if not (data.scope.service or data.scope.site or data.scope.department) else f" – {data.scope.label}"
    return f"IT footprint report{scope} – {data.period.label}"


def render_html(data: ReportData, top: int = 10, budgets_file: bool = True) -> str:
    """The whole report as a standalone HTML page."""
    environment = Environment(loader=PackageLoader("fleetprint.report", "templates"),
                              autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    environment.filters["num"] = num
    breakdowns = [(heading, key, groups, charts.use_vs_manufacture(groups)) for heading, key, groups in (
        ("Per service", "services", data.services), ("Per site", "sites", data.sites),
        ("Per department", "departments", _named_departments(data.departments))) if groups]
    chart_uris = {
        "trend": charts.trend(data.trend, data.period.trend_unit()),
        "budgets": charts.budgets(data.outcomes) if data.outcomes else "",
        "sources": charts.ladder_steps(data.quality.energy_by_step),
        "trajectories": {budget_id: charts.trajectory(budget_id, path) for budget_id, path in data.paths.items()},
    }
    return environment.get_template("report.html.j2").render(
        data=data, title=title(data), last_day=f"{data.period.end - DAY:%Y-%m-%d}", cards=_cards(data),
        key_points=_key_points(data), breakdowns=breakdowns, charts=chart_uris, trend_summary=_trend_summary(data),
        criteria=criteria(data.totals), top=data.top_hosts(top), pct=pct,
        group_total=lambda groups: sum(i.kgco2e for i in groups.values()),
        budget_lines=_budget_lines, trajectory_text=_trajectory_text, years_text=_years(data.whatif.years),
        gap_pct=f"{100 * GAP_COVERAGE:g}", budgets_file=budgets_file)
