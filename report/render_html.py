"""The report as one self-contained HTML page (charts inlined as SVG), for screens, mail and print.

Its first page says the period's footprint in plain words; the tables follow. Every sentence goes
through `Words` (language.py), so that the page is written in English or in French.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from fleetprint.impacts import Impacts
from fleetprint.report import charts
from fleetprint.report.collect import GAP_COVERAGE, ReportData
from fleetprint.report.equivalences import equivalents
from fleetprint.report.language import Words, plain_number
from fleetprint.report.model import criteria
from fleetprint.report.outcomes import BudgetOutcome
from fleetprint.report.period import DAY
from fleetprint.report.trend import gaps

UTC = ZoneInfo("UTC")
ENGLISH = Words("en")
num = plain_number  # the English figures (the tests read them)


def change(now: float, before: float | None, words: Words = ENGLISH) -> tuple[str, str]:
    """("+4.2 % vs previous period", "up") or ("", "") without a previous figure."""
    if not before:
        return "", ""
    delta = 100 * (now - before) / before
    sign = "+" if delta > 0 else "−" if delta < 0 else ""
    return words("%(change)s %% vs previous period", change=sign + words.fixed(abs(delta), 1)), \
        "up" if delta > 0 else "down"


def _cards(data: ReportData, words: Words) -> list[dict[str, str]]:
    previous = data.previous
    cards = []
    for label, value, before in (
            (words("Carbon footprint (kgCO2e, use + manufacture)"), data.totals.kgco2e, previous and previous.kgco2e),
            (words("Energy (kWh)"), data.totals.energy_kwh, previous and previous.energy_kwh),
            (words("Abiotic depletion (kgSbeq)"), data.totals.usage_adp_kgsbeq + data.totals.embodied_adp_kgsbeq,
             previous and previous.usage_adp_kgsbeq + previous.embodied_adp_kgsbeq),
            (words("Primary energy (MJ)"), data.totals.usage_pe_mj + data.totals.embodied_pe_mj,
             previous and previous.usage_pe_mj + previous.embodied_pe_mj)):
        text, direction = change(value, before, words)
        cards.append({"label": label, "value": words.num(value), "change": text, "direction": direction})
    return cards


def _key_points(data: ReportData, words: Words) -> list[str]:
    totals, points = data.totals, []
    points.append(words("Manufacture accounts for %(made)s %% of the carbon footprint, use for %(use)s %%.",
                        made=words.pct(totals.embodied_kgco2e, totals.kgco2e),
                        use=words.pct(totals.usage_kgco2e, totals.kgco2e)))
    if len(data.services) > 1:
        name, impacts = next(iter(data.services.items()))
        points.append(words("The largest service is %(name)s: %(kg)s kgCO2e (%(share)s %%).", name=name,
                            kg=words.num(impacts.kgco2e),
                            share=words.pct(impacts.kgco2e, sum(i.kgco2e for i in data.services.values()))))
    exceeded = [o.budget.id for o in data.outcomes if o.state == "exceeded"]
    if data.outcomes:
        points.append(words("%(exceeded)s of %(budgets)s budgets exceeded", exceeded=len(exceeded),
                            budgets=len(data.outcomes)) + (f": {', '.join(exceeded)}." if exceeded else "."))
    if data.whatif.total.hosts:
        points.append(words("Keeping hardware %(years)s longer would save %(kg)s kgCO2e a year of manufacture "
                            "impacts.", years=_years(data.whatif.years, words),
                            kg=words.num(data.whatif.total.saving_per_year_kg)))
    points.append(words("%(share)s %% of the energy is measured, the rest modelled.",
                        share=words.pct(data.quality.measured_share, 1)))
    if data.quality.embodied_by_source:
        points.append(words("%(share)s %% of the manufacture GWP is its makers' declared figure, the rest modelled.",
                            share=words.pct(data.quality.declared_embodied_share, 1)))
    return points


def _unit(unit: str, count: int, words: Words) -> str:
    """day(s) / month(s), in words: "3 days"."""
    return words("%(count)s days", count=count) if unit == "day" else words("%(count)s months", count=count)


def notes(data: ReportData, tz: tzinfo = UTC, words: Words = ENGLISH) -> list[str]:
    """What the reader must know about the data: a period not over, days without data, no comparison."""
    lines = []
    unit = data.period.trend_unit()
    found = gaps(data.trend)
    if data.period.end > data.generated_at:
        lines.append(words("The period is not over: figures run to %(when)s.", when=when(data.generated_at, tz))
                     + (" " + words("The %(blank)s still to come are left blank, not counted as zero.",
                                    blank=_unit(unit, found.to_come, words)) if found.to_come else ""))
    if found.leading and found.first_data:
        lines.append(words("No data before %(day)s (the first samples of this scope in the period): the first "
                           "%(blank)s are left blank, not counted as zero.", day=f"{found.first_data:%Y-%m-%d}",
                           blank=_unit(unit, found.leading, words)))
    if found.inside:
        lines.append(words("%(blank)s without any data are left blank, not counted as zero.",
                           blank=_unit(unit, found.inside, words)))
    if any(point.partial for point in data.trend):
        lines.append(words("A day whose data starts or stops within it is drawn lighter and never named the "
                           "lowest.") if unit == "day" else
                     words("A month whose data starts or stops within it is drawn lighter and never named the "
                           "lowest."))
    previous = data.previous_period
    if data.previous is None and data.previous_days_with_data:
        lines.append(words("The previous period (%(previous)s) has data on %(days)s of its %(all)s days: no change "
                           "against it is shown.", previous=words.period(previous),
                           days=data.previous_days_with_data, all=round(previous.days)))
    return lines


def when(at: datetime, tz: tzinfo = UTC) -> str:
    """A moment in the reader's time zone, with the zone's name: 2026-11-30 08:15 CET."""
    local = at.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _years(years: float, words: Words) -> str:
    count = words.localise(f"{years:g}")
    return words("%(count)s year", count=count) if years == 1 else words("%(count)s years", count=count)


def _trend_summary(data: ReportData, words: Words) -> str:
    """The highest and lowest whole day (month): a partial one is neither."""
    points = [(point.start, point.impacts) for point in data.trend if point.impacts and not point.partial]
    if len(points) < 2:
        return ""
    name = words.day if data.period.trend_unit() == "day" else words.month
    high = max(points, key=lambda item: item[1].kgco2e)
    low = min(points, key=lambda item: item[1].kgco2e)
    values = {"high": name(high[0]), "high_kg": words.num(high[1].kgco2e), "low": name(low[0]),
              "low_kg": words.num(low[1].kgco2e)}
    if data.period.trend_unit() == "day":
        return words("Highest whole day: %(high)s, %(high_kg)s kgCO2e; lowest: %(low)s, %(low_kg)s kgCO2e.", **values)
    return words("Highest whole month: %(high)s, %(high_kg)s kgCO2e; lowest: %(low)s, %(low_kg)s kgCO2e.", **values)


def _tonnes(kg: float, words: Words) -> str:
    if kg >= 1000:
        return words("%(count)s tonnes of CO2 equivalent", count=words.num(kg / 1000))
    return words("%(count)s kg of CO2 equivalent", count=words.num(kg))


def contributors(data: ReportData, count: int = 3,
                 words: Words = ENGLISH) -> tuple[str, list[tuple[str, float, float]]]:
    """The largest contributors: ("services", [(name, kgCO2e, share)]); machines for a service's report or when
    there is only one service."""
    total = data.totals.kgco2e
    if len(data.services) > 1 and not data.scope.service:
        groups = [(name or words("(no service)"), impacts.kgco2e) for name, impacts in data.services.items()]
        total, kind = sum(kg for _, kg in groups), "services"
    else:
        groups = [(host.host, host.impacts.kgco2e) for host in data.top_hosts(count)]
        kind = "machines"
    return kind, [(name, kg, kg / total if total else 0.0) for name, kg in groups[:count]]


BUDGET_PERIODS = {"day": "%(count)s day(s) judged, %(over)s over the limit",
                  "week": "%(count)s week(s) judged, %(over)s over the limit",
                  "month": "%(count)s month(s) judged, %(over)s over the limit",
                  "year": "%(count)s year(s) judged, %(over)s over the limit"}
BUDGET_STATES = {"exceeded": "exceeded", "within": "kept", "in progress": "so far kept (its period is not over)"}


def budget_sentence(outcome: BudgetOutcome, words: Words = ENGLISH) -> str:
    """One budget's outcome as a sentence."""
    o = outcome
    shares = "; ".join(words("%(share)s %% of its limit of %(limit)s %(unit)s spent",
                             share=words.num(100 * spent / limit), limit=words.num(limit), unit=unit)
                       for unit, spent, limit in budget_lines(o))
    if o.pro_rata:
        judged = words("judged on this period against its limit pro rata")
    else:
        judged = words(BUDGET_PERIODS[o.budget.period], count=o.periods, over=o.exceeded)
    return f"{o.budget.id}: {words(BUDGET_STATES[o.state])} ({judged}; {shares})."


def summary(data: ReportData, tz: tzinfo = UTC, words: Words = ENGLISH) -> dict[str, object]:
    """The first page in plain words, for readers who will not read the tables."""
    totals = data.totals
    whole = not (data.scope.service or data.scope.site or data.scope.department)
    scope = words("the whole IT fleet") if whole else words("the %(scope)s", scope=words.scope(data.scope))
    when_text = words("From %(period)s", period=words.period(data.period)) if data.period.kind == "range" \
        else words("In %(period)s", period=words.period(data.period))
    opening = words("%(when)s, %(scope)s emitted %(amount)s: %(use)s %% from the electricity the machines used "
                    "(%(kwh)s kWh) and %(made)s %% from their manufacture, spread over their lifetime.",
                    when=when_text, scope=scope, amount=_tonnes(totals.kgco2e, words),
                    use=words.pct(totals.usage_kgco2e, totals.kgco2e), kwh=words.num(totals.energy_kwh),
                    made=words.pct(totals.embodied_kgco2e, totals.kgco2e))
    previous = words.period(data.previous_period)
    if data.previous is not None and data.previous.kgco2e:
        delta = 100 * (totals.kgco2e - data.previous.kgco2e) / data.previous.kgco2e
        values = {"change": words.fixed(abs(delta), 1), "previous": previous,
                  "amount": _tonnes(data.previous.kgco2e, words)}
        comparison = words("That is %(change)s %% more than in %(previous)s (%(amount)s).", **values) if delta > 0 \
            else words("That is %(change)s %% less than in %(previous)s (%(amount)s).", **values)
    else:
        comparison = words("No comparison with %(previous)s: it does not have data on most of its days.",
                           previous=previous)
    kind, largest = contributors(data, words=words)
    return {
        "opening": opening, "comparison": comparison,
        "equivalents": [(words(equivalence.text, count=words.num(count)), words(equivalence.source), equivalence.url)
                        for equivalence, count in equivalents(totals.kgco2e)],
        "contributors_heading": words("The three largest services:") if kind == "services"
        else words("The three largest machines:"),
        "contributors": [(name, words.num(kg), words.pct(share, 1)) for name, kg, share in largest],
        "budgets": [budget_sentence(o, words) for o in data.outcomes],
    }


def budget_lines(outcome: BudgetOutcome) -> list[tuple[str, float, float]]:
    """(unit, spent, limit) for each limit the budget has."""
    lines = []
    if outcome.limit_kgco2e is not None:
        lines.append(("kgCO2e", outcome.spent_kgco2e, outcome.limit_kgco2e))
    if outcome.limit_kwh is not None:
        lines.append(("kWh", outcome.spent_kwh, outcome.limit_kwh))
    return lines


def _trajectory_text(outcome: BudgetOutcome, words: Words) -> str:
    trajectory = outcome.budget.trajectory
    if trajectory is None:
        return "–"
    return words("−%(pct)s %%/year from %(year)s: ×%(factor)s",
                 pct=words.localise(f"{trajectory.reduction_pct_per_year:g}"), year=trajectory.baseline_year,
                 factor=words.fixed(outcome.trajectory_factor, 3))


def _named_departments(departments: dict[str, Impacts], words: Words) -> dict[str, Impacts]:
    """The departments, those of no department under a name a reader understands; none when no host has one."""
    if not any(departments):
        return {}
    return {name or words("(no department)"): impacts for name, impacts in departments.items()}


def title(data: ReportData, words: Words = ENGLISH) -> str:
    whole = not (data.scope.service or data.scope.site or data.scope.department)
    scope = "" if whole else f" – {words.scope(data.scope)}"
    return words("IT footprint report") + f"{scope} – {words.period(data.period)}"


def _chart_labels(data: ReportData, words: Words) -> dict[str, dict[str, str]]:
    unit = data.period.trend_unit()
    return {
        "trend": {"use": words("use (kgCO2e)"), "manufacture": words("manufacture (kgCO2e)"),
                  "energy": words("energy (kWh)"), "gap": words("no data"),
                  "partial": words("partial day") if unit == "day" else words("partial month"),
                  "title": words("Per day (UTC)") if unit == "day" else words("Per month (UTC)")},
        "budgets": {"within": words("within"), "in progress": words("in progress"),
                    "some exceeded": words("some periods exceeded"), "exceeded": words("exceeded"),
                    "axis": words("spent, %% of the limit over the period"), "title": words("Budgets")},
        "breakdown": {"use": words("use"), "manufacture": words("manufacture")},
        "trajectory": {"limit": words.lookup("limit on the path (%(unit)s/year)"),
                       "spent": words.lookup("spent (%(unit)s)"), "title": words.lookup("Trajectory of %(budget)s")},
    }


def render_html(data: ReportData, top: int = 10, budgets_file: bool = True, tz: tzinfo = UTC,
                words: Words = ENGLISH) -> str:
    """The whole report as a standalone HTML page, in the language of `words`."""
    environment = Environment(loader=PackageLoader("fleetprint.report", "templates"), extensions=["jinja2.ext.i18n"],
                              autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        words.lookup, lambda one, many, count: words.lookup(one if count == 1 else many), newstyle=True)
    environment.filters["num"] = words.num
    labels = _chart_labels(data, words)
    breakdowns = [(heading, column, key, groups, charts.use_vs_manufacture(groups, labels["breakdown"]))
                  for heading, column, key, groups in (
                      (words("Per service"), words("service"), "services", data.services),
                      (words("Per site"), words("site"), "sites", data.sites),
                      (words("Per department"), words("department"), "departments",
                       _named_departments(data.departments, words))) if groups]
    chart_uris = {
        "trend": charts.trend(data.trend, data.period.trend_unit(), labels["trend"]),
        "budgets": charts.budgets(data.outcomes, labels["budgets"]) if data.outcomes else "",
        "sources": charts.ladder_steps(data.quality.energy_by_step, words("%% of the energy")),
        "trajectories": {budget_id: charts.trajectory(budget_id, path, labels["trajectory"])
                         for budget_id, path in data.paths.items()},
    }
    return environment.get_template("report.html.j2").render(
        data=data, lang=words.lang, title=title(data, words), period_label=words.period(data.period),
        scope_label=words.scope(data.scope), first_day=f"{data.period.start:%Y-%m-%d}",
        last_day=f"{data.period.end - DAY:%Y-%m-%d}",
        cards=_cards(data, words), summary=summary(data, tz, words), notes=notes(data, tz, words),
        generated=when(data.generated_at, tz), zone_name=when(data.generated_at, tz).split(" ")[-1],
        key_points=_key_points(data, words), breakdowns=breakdowns, charts=chart_uris,
        trend_summary=_trend_summary(data, words),
        criteria=[(words(name), unit, use, made) for name, unit, use, made in criteria(data.totals)],
        top=data.top_hosts(top),
        pct=words.pct, fixed=words.fixed, group_total=lambda groups: sum(i.kgco2e for i in groups.values()),
        budget_lines=budget_lines, trajectory_text=lambda o: _trajectory_text(o, words),
        state=lambda o: words(o.state), years_text=_years(data.whatif.years, words),
        gap_pct=f"{100 * GAP_COVERAGE:g}", budgets_file=budgets_file)

