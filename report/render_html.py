"""The report as one self-contained HTML page (charts inlined as SVG), for screens, mail and print."""

from __future__ import annotations

import math
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from fleetprint.impacts import Impacts
from fleetprint.report import charts
from fleetprint.report.collect import GAP_COVERAGE, ReportData
from fleetprint.report.equivalences import equivalents
from fleetprint.report.model import criteria
from fleetprint.report.outcomes import BudgetOutcome
from fleetprint.report.period import DAY
from fleetprint.report.trend import gaps

UTC = ZoneInfo("UTC")


def num(value: float) -> str:
    """A figure in plain digits (never 4.21e-05), three significant figures, whole numbers from 100 on, with
    thousands separators: 12,345 · 12.3 · 0.00532 · 0.0000421."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else "–"
    if abs(value) >= 99.95:
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    if abs(float(text.replace(",", ""))) >= 10 ** (3 - decimals) and decimals:  # 9.996 rounds up to 10.00
        text = f"{value:,.{decimals - 1}f}"
    return text


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


def notes(data: ReportData, tz: tzinfo = UTC) -> list[str]:
    """What the reader must know about the data: a period not over, days without data, no comparison."""
    lines = []
    unit = data.period.trend_unit()
    found = gaps(data.trend)
    if data.period.end > data.generated_at:
        lines.append(f"The period is not over: figures run to {when(data.generated_at, tz)}"
                     + (f"; its {found.to_come} {unit}(s) still to come are left blank, not counted as zero."
                        if found.to_come else "."))
    if found.leading and found.first_data:
        lines.append(f"No data before {found.first_data:%Y-%m-%d} (the first samples of this scope in the period): "
                     f"its first {found.leading} {unit}(s) are left blank, not counted as zero.")
    if found.inside:
        lines.append(f"{found.inside} {unit}(s) without any data are left blank, not counted as zero.")
    if any(point.partial for point in data.trend):
        lines.append(f"A {unit} whose data starts or stops within it is drawn lighter and never named the lowest.")
    previous = data.previous_period
    if data.previous is None and data.previous_days_with_data:
        lines.append(f"The previous period ({previous.label}) has data on {data.previous_days_with_data} of its "
                     f"{round(previous.days)} days: no change against it is shown.")
    return lines


def when(at: datetime, tz: tzinfo = UTC) -> str:
    """A moment in the reader's time zone, with the zone's name: 2026-11-30 08:15 CET."""
    local = at.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _years(years: float) -> str:
    return f"{years:g} year" + ("" if years == 1 else "s")


def _trend_summary(data: ReportData) -> str:
    """The highest and lowest whole day (month): a partial one is neither."""
    points = [(point.start, point.impacts) for point in data.trend if point.impacts and not point.partial]
    if len(points) < 2:
        return ""
    unit = data.period.trend_unit()
    fmt = "%a %d %b" if unit == "day" else "%B"
    high = max(points, key=lambda item: item[1].kgco2e)
    low = min(points, key=lambda item: item[1].kgco2e)
    return (f"Highest whole {unit}: {high[0]:{fmt}}, {num(high[1].kgco2e)} kgCO2e; lowest: {low[0]:{fmt}}, "
            f"{num(low[1].kgco2e)} kgCO2e.")


def _tonnes(kg: float) -> str:
    return f"{num(kg / 1000)} tonnes of CO2 equivalent" if kg >= 1000 else f"{num(kg)} kg of CO2 equivalent"


def contributors(data: ReportData, count: int = 3) -> tuple[str, list[tuple[str, float, str]]]:
    """The largest contributors, in plain words: ("services", [(name, kgCO2e, share %)]); hosts for a service's
    report or when there is only one service."""
    total = data.totals.kgco2e
    if len(data.services) > 1 and not data.scope.service:
        groups = [(name or "(no service)", impacts.kgco2e) for name, impacts in data.services.items()]
        total, kind = sum(kg for _, kg in groups), "services"
    else:
        groups = [(host.host, host.impacts.kgco2e) for host in data.top_hosts(count)]
        kind = "machines"
    return kind, [(name, kg, pct(kg, total)) for name, kg in groups[:count]]


def budget_sentence(outcome: BudgetOutcome) -> str:
    """One budget's outcome as a sentence."""
    o, unit = outcome, {"day": "day", "week": "week", "month": "month", "year": "year"}[outcome.budget.period]
    shares = "; ".join(f"{num(100 * spent / limit)} % of its limit of {num(limit)} {name} spent"
                       for name, spent, limit in _budget_lines(o))
    if o.pro_rata:
        judged = f"judged on this period against its {unit}ly limit pro rata"
    else:
        judged = f"{o.periods} {unit}(s) judged, {o.exceeded} over the limit"
    state = {"exceeded": "exceeded", "within": "kept", "in progress": "so far kept (its period is not over)"}[o.state]
    return f"{o.budget.id}: {state} ({judged}; {shares})."


def summary(data: ReportData, tz: tzinfo = UTC) -> dict[str, object]:
    """The first page in plain words, for readers who will not read the tables."""
    totals = data.totals
    scope = "the whole IT fleet" if not (data.scope.service or data.scope.site or data.scope.department) \
        else f"the {data.scope.label}"
    when_text = f"From {data.period.label}" if data.period.kind == "range" else f"In {data.period.label}"
    opening = (f"{when_text}, {scope} emitted {_tonnes(totals.kgco2e)}: "
               f"{pct(totals.usage_kgco2e, totals.kgco2e)} % from the electricity the machines used "
               f"({num(totals.energy_kwh)} kWh) and {pct(totals.embodied_kgco2e, totals.kgco2e)} % from their "
               f"manufacture, spread over their lifetime.")
    if data.previous is not None and data.previous.kgco2e:
        delta = 100 * (totals.kgco2e - data.previous.kgco2e) / data.previous.kgco2e
        direction = "more" if delta > 0 else "less"
        comparison = (f"That is {abs(delta):.1f} % {direction} than in {data.previous_period.label} "
                      f"({_tonnes(data.previous.kgco2e)}).")
    else:
        comparison = f"No comparison with {data.previous_period.label}: it does not have data on most of its days."
    kind, largest = contributors(data)
    return {
        "opening": opening, "comparison": comparison,
        "equivalents": [(equivalence.text.format(count=num(count)), equivalence.source, equivalence.url)
                        for equivalence, count in equivalents(totals.kgco2e)],
        "contributors_kind": kind,
        "contributors": [(name, num(kg), share) for name, kg, share in largest],
        "budgets": [budget_sentence(o) for o in data.outcomes],
    }


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


def render_html(data: ReportData, top: int = 10, budgets_file: bool = True, tz: tzinfo = UTC) -> str:
    """The whole report as a standalone HTML page."""
    environment = Environment(loader=PackageLoader("fleetprint.report", "templates"),
                              autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    environment.filters["num"] = num
    breakdowns = [(heading, key, groups, charts.use_vs_manufacture(groups)) for heading, key, groups in (
        ("Per service", "services", data.services), ("Per site", "sites", data.sites),
        ("Per department", "departments", _named_departments(data.departments))) if groups]
    chart_uris = {
        "trend": charts.trend(data.trend, data.period.trend_unit(), {
            "use": "use (kgCO2e)", "manufacture": "manufacture (kgCO2e)", "energy": "energy (kWh)",
            "gap": "no data", "partial": f"partial {data.period.trend_unit()}",
            "title": f"Per {data.period.trend_unit()} (UTC)"}),
        "budgets": charts.budgets(data.outcomes, {
            "within": "within", "in progress": "in progress", "some exceeded": "some periods exceeded",
            "exceeded": "exceeded", "axis": "spent, % of the limit over the period", "title": "Budgets"})
        if data.outcomes else "",
        "sources": charts.ladder_steps(data.quality.energy_by_step),
        "trajectories": {budget_id: charts.trajectory(budget_id, path) for budget_id, path in data.paths.items()},
    }
    return environment.get_template("report.html.j2").render(
        data=data, title=title(data), last_day=f"{data.period.end - DAY:%Y-%m-%d}", cards=_cards(data),
        summary=summary(data, tz), notes=notes(data, tz), generated=when(data.generated_at, tz),
        key_points=_key_points(data), breakdowns=breakdowns, charts=chart_uris, trend_summary=_trend_summary(data),
        criteria=criteria(data.totals), top=data.top_hosts(top), pct=pct,
        group_total=lambda groups: sum(i.kgco2e for i in groups.values()),
        budget_lines=_budget_lines, trajectory_text=_trajectory_text, years_text=_years(data.whatif.years),
        gap_pct=f"{100 * GAP_COVERAGE:g}", budgets_file=budgets_file)
