"""The report's charts with matplotlib, as SVG data URIs: sharp in print and on screen, no external file."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from fleetprint.impacts import Impacts, LadderStep  # noqa: E402
from fleetprint.report.outcomes import BudgetOutcome, TrajectoryYear  # noqa: E402
from fleetprint.report.trend import TrendPoint  # noqa: E402

# Okabe-Ito colours: distinguishable with colour-blindness, and in greyscale by their lightness.
USE, EMBODIED, ENERGY, LIMIT = "#0072B2", "#E69F00", "#009E73", "#D55E00"
STATE_COLOURS = {"within": "#009E73", "in progress": "#56B4E9", "some exceeded": "#E69F00", "exceeded": "#D55E00"}
STEP_COLOURS = {LadderStep.WALL: "#009E73", LadderStep.CALIBRATED: "#56B4E9", LadderStep.COMPONENTS: "#0072B2",
                LadderStep.BATTERY: "#CC79A7", LadderStep.MODELLED: "#BBBBBB"}

plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
                     "grid.alpha": 0.3, "grid.linewidth": 0.6, "svg.hashsalt": "fleetprint", "axes.axisbelow": True})


def _uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def use_vs_manufacture(groups: dict[str, Impacts], labels: dict[str, str], limit: int = 15) -> str:
    """Horizontal stacked bars of kgCO2e, use and manufacture, largest first."""
    items = list(groups.items())[:limit][::-1]
    figure, axes = plt.subplots(figsize=(7.0, 0.9 + 0.32 * max(len(items), 1)))
    names = [name for name, _ in items]
    use = [impacts.usage_kgco2e for _, impacts in items]
    embodied = [impacts.embodied_kgco2e for _, impacts in items]
    axes.barh(names, use, color=USE, label=labels["use"])
    axes.barh(names, embodied, left=use, color=EMBODIED, label=labels["manufacture"])
    axes.set_xlabel("kgCO2e")
    axes.grid(axis="y", visible=False)
    axes.legend(loc="lower right", frameon=False)
    return _uri(figure)


def trend(points: list[TrendPoint], unit: str, labels: dict[str, str]) -> str:
    """Stacked bars of kgCO2e per day or month, with the energy in kWh on a second axis; buckets without data
    shaded as gaps (no bar, the line broken), partial ones lighter."""
    figure, axes = plt.subplots(figsize=(7.0, 2.8))
    ticks = [f"{point.start:%d}" if unit == "day" else f"{point.start:%b}" for point in points]
    nan = float("nan")
    use = [point.impacts.usage_kgco2e if point.impacts else nan for point in points]
    embodied = [point.impacts.embodied_kgco2e if point.impacts else nan for point in points]
    alpha = [0.45 if point.partial else 1.0 for point in points]
    positions = list(range(len(points)))
    for position, low, high, shade in zip(positions, use, embodied, alpha):
        if low == low:  # not a gap
            axes.bar(position, low, color=USE, alpha=shade)
            axes.bar(position, high, bottom=low, color=EMBODIED, alpha=shade)
    gap_label = labels["gap"]
    for position, point in enumerate(points):
        if point.impacts is None:
            axes.axvspan(position - 0.5, position + 0.5, color="#DDDDDD", alpha=0.6, linewidth=0, label=gap_label)
            gap_label = "_"  # one legend entry
    axes.set_ylabel("kgCO2e")
    axes.set_xlim(-0.5, len(points) - 0.5)
    axes.set_xticks(positions, ticks, fontsize=7 if len(points) > 20 else 9)
    axes.grid(axis="x", visible=False)
    energy_axes = axes.twinx()
    energy_axes.plot(positions, [point.impacts.energy_kwh if point.impacts else nan for point in points],
                     color=ENERGY, marker="o", markersize=3, linewidth=1.5, label=labels["energy"])
    energy_axes.set_ylabel("kWh")
    energy_axes.set_ylim(bottom=0)
    energy_axes.grid(False)
    energy_axes.spines["right"].set_visible(True)
    handles = [Patch(color=USE, label=labels["use"]), Patch(color=EMBODIED, label=labels["manufacture"])]
    if any(point.partial for point in points):
        handles.append(Patch(color=USE, alpha=0.45, label=labels["partial"]))
    handles += [h for h in axes.get_legend_handles_labels()[0]] + energy_axes.get_legend_handles_labels()[0]
    axes.legend(handles, [h.get_label() for h in handles], loc="upper center", bbox_to_anchor=(0.5, -0.12),
                ncol=3, frameon=False)
    axes.set_title(labels["title"], loc="left", fontweight="bold")
    return _uri(figure)


def budget_bars(outcomes: list[BudgetOutcome]) -> list[tuple[str, float, str]]:
    """(label, % of the limit, colour key) per budget and limit unit: every limit a budget has gets its bar,
    coloured by its own share (from 100 %: exceeded) or, under it, "some exceeded" when one of its periods was
    over this limit (or may have been: a budget of two limits judged on several periods)."""
    bars = []
    several = {o.budget.id for o in outcomes if o.limit_kgco2e is not None and o.limit_kwh is not None}
    for o in outcomes:
        for unit, spent, limit in (("kgCO2e", o.spent_kgco2e, o.limit_kgco2e), ("kWh", o.spent_kwh, o.limit_kwh)):
            if limit is None:
                continue
            share = 100 * spent / limit if limit else 0.0
            # under 100 %, a period over the limit is this unit's unless the other unit's share explains it alone
            ambiguous = o.budget.id in several and o.periods > 1
            state = "exceeded" if share >= 100 else "some exceeded" if o.exceeded and (ambiguous or o.budget.id
                                                                                      not in several) \
                else "in progress" if o.in_progress else "within"
            bars.append((f"{o.budget.id} ({unit})" if o.budget.id in several else o.budget.id, share, state))
    return bars


def budgets(outcomes: list[BudgetOutcome], labels: dict[str, str]) -> str:
    """Each budget's spend as a share of each of its limits over the period, coloured by outcome."""
    bars = budget_bars(outcomes)[::-1]
    figure, axes = plt.subplots(figsize=(7.0, 0.9 + 0.32 * max(len(bars), 1)))
    shares = [share for _, share, _ in bars]
    axes.barh([name for name, _, _ in bars], shares, color=[STATE_COLOURS[state] for _, _, state in bars])
    axes.axvline(100, color="black", linewidth=1)
    for position, share in enumerate(shares):
        axes.text(share, position, f" {share:.0f} %", va="center", fontsize=8)
    states = [state for state in STATE_COLOURS if any(state == s for _, _, s in bars)]
    axes.legend([Patch(color=STATE_COLOURS[state]) for state in states], [labels[state] for state in states],
                loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(bars) < 4 else -0.2), ncol=4, frameon=False)
    axes.set_xlabel(labels["axis"])
    axes.set_xlim(0, max(shares + [100]) * 1.15)
    axes.grid(axis="y", visible=False)
    axes.set_title(labels["title"], loc="left", fontweight="bold")
    return _uri(figure)


def ladder_steps(energy_by_step: dict[str, float], axis_label: str) -> str:
    """One 100 % bar: the period's energy by where its power figure came from."""
    total = sum(energy_by_step.values()) or 1.0
    figure, axes = plt.subplots(figsize=(7.0, 1.3))
    left = 0.0
    for step, wh in energy_by_step.items():
        share = 100 * wh / total
        axes.barh([0], [share], left=left, color=STEP_COLOURS.get(step, "#999999"), label=f"{step} {share:.0f} %")
        left += share
    axes.set_xlim(0, 100)
    axes.set_yticks([])
    axes.set_xlabel(axis_label)
    axes.grid(False)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.55), ncol=5, frameon=False)
    return _uri(figure)


def trajectory(budget_id: str, path: list[TrajectoryYear], labels: dict[str, str]) -> str:
    """A budget's yearly limit on its reduction path, and the spend of the years with data; `labels`' texts take
    the unit as %(unit)s and the budget as %(budget)s."""
    figure, axes = plt.subplots(figsize=(7.0, 2.6))
    carbon = any(year.limit_kgco2e is not None for year in path)
    unit = "kgCO2e" if carbon else "kWh"
    years = [year.year for year in path]
    axes.plot(years, [year.limit_kgco2e if carbon else year.limit_kwh for year in path], color=LIMIT, marker="o",
              label=labels["limit"] % {"unit": unit})
    actual = [(year.year, year.spent_kgco2e if carbon else year.spent_kwh) for year in path
              if year.spent_kgco2e is not None]
    if actual:
        axes.bar([x for x, _ in actual], [y for _, y in actual], color=USE, width=0.5,
                 label=labels["spent"] % {"unit": unit})
    axes.set_xticks(years, [str(year) for year in years])
    axes.set_ylim(bottom=0)
    axes.set_ylabel(unit)
    axes.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    axes.set_title(labels["title"] % {"budget": budget_id}, loc="left", fontweight="bold")
    return _uri(figure)
