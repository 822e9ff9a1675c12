"""How `fleetprint live` draws its figures in a terminal (rich): the fleet's total, the top hosts by
footprint rate, and a column chart of the fleet's power over the last hour."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from fleetprint.collector.live_figures import LiveFigures

EIGHTHS = " ▁▂▃▄▅▆▇█"
CHART_HEIGHT = 6


def watts(value: float) -> str:
    return f"{value / 1000:,.2f} kW" if value >= 10_000 else f"{value:,.0f} W"


def carbon_rate(gco2e_per_h: float) -> str:
    return f"{gco2e_per_h / 1000:,.2f} kgCO2e/h" if gco2e_per_h >= 10_000 else f"{gco2e_per_h:,.1f} gCO2e/h"


def column_chart(values: list[float | None], height: int = CHART_HEIGHT) -> list[str]:
    """Rows of a column chart from 0 to the largest value, top row first, one character a value
    (eighth blocks); a value that is None (no sample) stays blank."""
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    rows = []
    for level in range(height, 0, -1):
        cells = []
        for value in values:
            eighths = 0 if value is None else round(value / top * height * 8)
            cells.append(EIGHTHS[max(0, min(8, eighths - (level - 1) * 8))])
        rows.append("".join(cells))
    return rows


def _chart(figures: LiveFigures) -> Text:
    values = [power for _, power in figures.minutes]
    known = [v for v in values if v is not None]
    text = Text("Fleet power of the hosts reporting, minute by minute over the last hour (UTC)\n", style="bold")
    if not known:
        return text.append("no samples in the last hour\n", style="yellow")
    labels = [watts(max(known)), "", "", "", "", "0 W"]
    width = max(len(label) for label in labels)
    for label, row in zip(labels, column_chart(values, len(labels)), strict=True):
        text.append(f"{label:>{width}} ┤", style="dim").append(row + "\n", style="green")
    first, last = figures.minutes[0][0], figures.minutes[-1][0]
    axis = f"{first:%H:%M}" + f"{last:%H:%M}".rjust(len(values) - 5)
    text.append(" " * (width + 2) + axis + "\n", style="dim")
    if len(known) < len(values):
        text.append(f"{len(values) - len(known)} minutes without samples are left blank\n", style="dim")
    return text


def _top_table(figures: LiveFigures, top: int) -> Table:
    shown = min(top, len(figures.hosts))
    table = Table(title=f"Top {shown} hosts by footprint rate (last {figures.window_s} s)", title_justify="left")
    for name, justify in (("host", "left"), ("site", "left"), ("power source", "left"), ("power", "right"),
                          ("use gCO2e/h", "right"), ("embodied gCO2e/h", "right"), ("share", "right")):
        table.add_column(name, justify=justify, no_wrap=True)
    total = figures.total_gco2e_per_h or 1.0
    for host in figures.top_hosts(top):
        table.add_row(host.host, host.site, host.power_sources, watts(host.power_w), f"{host.usage_gco2e_per_h:,.1f}",
                      f"{host.embodied_gco2e_per_h:,.1f}", f"{host.gco2e_per_h / total:.1%}")
    return table


def render(figures: LiveFigures, top: int, trouble: str | None = None,
           trouble_since: datetime | None = None) -> RenderableType:
    """The whole view; `trouble` (the database could not be read since `trouble_since`) is said first,
    above the last figures read."""
    parts: list[RenderableType] = []
    if trouble:
        since = f" since {trouble_since:%H:%M:%S} UTC" if trouble_since else ""
        parts.append(Text(f"Cannot read the figures{since}: {trouble}; showing the last ones read, retrying",
                          style="bold red"))
    header = Text(f"fleetprint live · {figures.taken_at:%Y-%m-%d %H:%M:%S} UTC\n", style="bold")
    header.append(f"Fleet now: {watts(figures.total_power_w)}, {carbon_rate(figures.total_gco2e_per_h)} "
                  "(use and embodied)\n", style="bold cyan")
    header.append(f"  {len(figures.hosts)} hosts reporting in the last {figures.window_s} s: "
                  f"{watts(figures.hosts_power_w)}, {carbon_rate(figures.hosts_gco2e_per_h)}\n")
    if figures.estate:
        estate = figures.estate
        header.append(f"  {estate.devices:,} registered devices without an agent, hour ended "
                      f"{estate.ended_at:%H:%M} UTC: {watts(estate.power_w)}, {carbon_rate(estate.gco2e_per_h)}\n")
    parts.append(header)
    if figures.hosts:
        parts.append(_top_table(figures, top))
    else:
        parts.append(Text(f"No host has reported in the last {figures.window_s} s.", style="yellow"))
    parts.append(Text(""))
    parts.append(_chart(figures))
    return Group(*parts)
