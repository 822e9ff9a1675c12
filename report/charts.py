"""The report's charts with matplotlib, as SVG data URIs: sharp in print and on screen, no external file."""

from __future__ import annotations

import base64
import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from fleetprint.impacts import Impacts, LadderStep  # noqa: E402
from fleetprint.report.outcomes import BudgetOutcome, TrajectoryYear  # noqa: E402

# Okabe-Ito colours: distinguishable with colour-blindness, and in greyscale by their lightness.
USE, EMBODIED, ENERGY, LIMIT = "#0072B2", "#E69F00", "#009E73", "#D55E00"
STATE_COLOURS = {"within": "#009E73", "in progress": "#56B4E9", "exceeded": "#D55E00"}
STEP_COLOURS = {LadderStep.WALL: "#009E73", LadderStep.CALIBRATED: "#56B4E9", LadderStep.COMPONENTS: "#0072B2",
                LadderStep.BATTERY: "#CC79A7", LadderStep.MODELLED: "#BBBBBB"}

plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
                     "grid.alpha": 0.3, "grid.linewidth": 0.6, "svg.hashsalt": "fleetprint", "axes.axisbelow": True})


def _uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def use_vs_manufacture(groups: dict[str, Impacts], limit: int = 15) -> str:
    """Horizontal stacked bars of kgCO2e, use and manufacture, largest first."""
    items = list(groups.items())[:limit][::-1]
    figure, axes = plt.subplots(figsize=(7.0, 0.9 + 0.32 * max(len(items), 1)))
    names = [name for name, _ in items]
    use = [impacts.usage_kgco2e for _, impacts in items]
    embodied = [impacts.embodied_kgco2e for _, impacts in items]
    axes.barh(names, use, color=USE, label="use")
    axes.barh(names, embodied, left=use, color=EMBODIED, label="manufacture")
    axes.set_xlabel("kgCO2e")
    axes.grid(axis="y", visible=False)
    axes.legend(loc="lower right", frameon=False)
    return _uri(figure)


def trend(points: list[tuple[datetime, Impacts]], unit: str) -> str:
    """Stacked bars of kgCO2e per day or month, with the energy in kWh on a second axis."""
    figure, axes = plt.subplots(figsize=(7.0, 2.8))
    labels = [f"{at:%d}" if unit == "day" else f"{at:%b}" for at, _ in points]
    use = [impacts.usage_kgco2e for _, impacts in points]
    embodied = [impacts.embodied_kgco2e for _, impacts in points]
    positions = range(len(points))
    axes.bar(positions, use, color=USE, label="use (kgCO2e)")
    axes.bar(positions, embodied, bottom=use, color=EMBODIED, label="manufacture (kgCO2e)")
    axes.set_ylabel("kgCO2e")
    axes.set_xticks(list(positions), labels, fontsize=7 if len(points) > 20 else 9)
    axes.grid(axis="x", visible=False)
    energy_axes = axes.twinx()
    energy_axes.plot(positions, [impacts.energy_kwh for _, impacts in points], color=ENERGY, marker="o",
                     markersize=3, linewidth=1.5, label="energy (kWh)")
    energy_axes.set_ylabel("kWh")
    energy_axes.set_ylim(bottom=0)
    energy_axes.grid(False)
    energy_axes.spines["right"].set_visible(True)
    handles = axes.get_legend_handles_labels()[0] + energy_axes.get_legend_handles_labels()[0]
    axes.legend(handles, [h.get_label() for h in handles], loc="upper center", bbox_to_anchor=(0.5, -0.12),
                ncol=3, frameon=False)
    axes.set_title(f"Per {unit} (UTC)", loc="left", fontweight="bold")
    return _uri(figure)


def budgets(outcomes: list[BudgetOutcome]) -> str:
    """Each budget's spend as a share of its limit over the period, coloured by outcome."""
    items = outcomes[::-1]
    figure, axes = plt.subplots(figsize=(7.0, 0.9 + 0.32 * max(len(items), 1)))
    shares = [100 * item.ratio for item in items]
    axes.barh([item.budget.id for item in items], shares, color=[STATE_COLOURS[item.state] for item in items])
    axes.axvline(100, color="black", linewidth=1)
    for position, share in enumerate(shares):
        axes.text(share, position, f" {share:.0f} %", va="center", fontsize=8)
    axes.set_xlabel("spent, % of the limit over the period")
    axes.set_xlim(0, max(shares + [100]) * 1.15)
    axes.grid(axis="y", visible=False)
    axes.set_title("Budgets", loc="left", fontweight="bold")
    return _uri(figure)


def ladder_steps(energy_by_step: dict[str, float]) -> str:
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
    axes.set_xlabel("% of the energy")
    axes.grid(False)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.55), ncol=5, frameon=False)
    return _uri(figure)


def trajectory(budget_id: str, path: list[TrajectoryYear]) -> str:
    """A budget's yearly limit on its reduction path, and the spend of the years with data."""
    figure, axes = plt.subplots(figsize=(7.0, 2.6))
    carbon = any(year.limit_kgco2e is not None for year in path)
    unit = "kgCO2e" if carbon else "kWh"
    years = [year.year for year in path]
    axes.plot(years, [year.limit_kgco2e if carbon else year.limit_kwh for year in path], color=LIMIT, marker="o",
              label=f"limit on the path ({unit}/year)")
    actual = [(year.year, year.spent_kgco2e if carbon else year.spent_kwh) for year in path
              if year.spent_kgco2e is not None]
    if actual:
        axes.bar([x for x, _ in actual], [y for _, y in actual], color=USE, width=0.5, label=f"spent ({unit})")
    axes.set_xticks(years, [str(year) for year in years])
    axes.set_ylim(bottom=0)
    axes.set_ylabel(unit)
    axes.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    axes.set_title(f"Trajectory of {budget_id}", loc="left", fontweight="bold")
    return _uri(figure)
