"""What a report holds: impacts per criterion and phase, per host, service, site and day, and its scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fleetprint.impacts import Impacts


def criteria(impacts: Impacts) -> list[tuple[str, str, float, float]]:
    """(criterion, unit, usage, embodied) for GWP, ADP and PE, in report units."""
    return [("Climate change (GWP)", "kgCO2e", impacts.usage_kgco2e, impacts.embodied_kgco2e),
            ("Abiotic resource depletion (ADPe)", "kgSbeq", impacts.usage_adp_kgsbeq, impacts.embodied_adp_kgsbeq),
            ("Primary energy (PE)", "MJ", impacts.usage_pe_mj, impacts.embodied_pe_mj)]


@dataclass(frozen=True)
class Scope:
    """The whole fleet, one service, one site, or one department (the organisation's unit)."""

    service: str | None = None
    site: str | None = None
    department: str | None = None

    @property
    def label(self) -> str:
        if self.service:
            return f"service {self.service}"
        if self.site:
            return f"site {self.site}"
        if self.department:
            return f"department {self.department}"
        return "whole fleet"

    @property
    def slug(self) -> str:
        if self.service:
            return f"service-{self.service}"
        if self.site:
            return f"site-{self.site}"
        return f"department-{self.department}" if self.department else "fleet"


@dataclass
class HostFigures:
    """One host's sums over the period, within the scope."""

    host: str
    site: str
    kind: str
    impacts: Impacts = field(default_factory=Impacts)
    samples: int = 0
    covered_s: float = 0.0  # seconds covered by its samples
    past_lifetime_wh: float = 0.0  # energy while past its lifetime (no more embodied impacts)
    energy_by_step: dict[str, float] = field(default_factory=dict)  # power_source (LadderStep) -> Wh
    # Manufacture GWP (gCO2e) by where it came from: the machine's under its embodied_source, its
    # monitors' under their monitor_embodied_source.
    embodied_by_source: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class InventoryFacts:
    """A host's last inventory before the period's end (fp_inventory)."""

    host: str
    kind: str
    site: str
    lifetime_h: float | None
    embodied_gwp_total_gco2e: float | None
    first_seen: datetime
    power_model: str = ""  # the model its modelled power came from (specpower_published, specpower_fit, ...)


@dataclass
class ZoneFactors:
    """The electricity factors seen for a zone over the period (fp_host)."""

    grid_sources: set[str] = field(default_factory=set)
    samples: int = 0
    mean_gco2e_per_kwh: float = 0.0
    min_gco2e_per_kwh: float = float("inf")
    max_gco2e_per_kwh: float = float("-inf")

    def merge(self, samples: int, mean: float, low: float, high: float) -> None:
        total = self.samples + samples
        if total:
            self.mean_gco2e_per_kwh = (self.mean_gco2e_per_kwh * self.samples + mean * samples) / total
        self.samples = total
        self.min_gco2e_per_kwh = min(self.min_gco2e_per_kwh, low)
        self.max_gco2e_per_kwh = max(self.max_gco2e_per_kwh, high)
