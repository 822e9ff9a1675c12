"""What a report holds: impacts per criterion and phase, per host, service, site and day, and its scope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from fleetprint.collector.rollups import SUMMED_FIELDS

# power_source values that come from a measurement rather than a model (docs/impact-model.md).
MEASURED_SOURCES = ("wall", "battery", "components", "calibrated")


@dataclass
class Impacts:
    """Sums of energy and impacts, in the stored units (Wh, gCO2e, kgSbeq, MJ)."""

    energy_wh: float = 0.0
    usage_gwp_gco2e: float = 0.0
    usage_adp_kgsbeq: float = 0.0
    usage_pe_mj: float = 0.0
    embodied_gwp_gco2e: float = 0.0
    embodied_adp_kgsbeq: float = 0.0
    embodied_pe_mj: float = 0.0

    def add(self, row: Mapping[str, Any]) -> Impacts:
        """Add a row's fields (missing or null count as 0); returns self."""
        for name in SUMMED_FIELDS:
            setattr(self, name, getattr(self, name) + float(row.get(name) or 0.0))
        return self

    def __add__(self, other: Impacts) -> Impacts:
        return Impacts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def energy_kwh(self) -> float:
        return self.energy_wh / 1000.0

    @property
    def use_kgco2e(self) -> float:
        return self.usage_gwp_gco2e / 1000.0

    @property
    def embodied_kgco2e(self) -> float:
        return self.embodied_gwp_gco2e / 1000.0

    @property
    def kgco2e(self) -> float:
        return self.use_kgco2e + self.embodied_kgco2e

    def criteria(self) -> list[tuple[str, str, float, float]]:
        """(criterion, unit, use, manufacture) for GWP, ADP and PE, in report units."""
        return [("Climate change (GWP)", "kgCO2e", self.use_kgco2e, self.embodied_kgco2e),
                ("Abiotic resource depletion (ADPe)", "kgSbeq", self.usage_adp_kgsbeq, self.embodied_adp_kgsbeq),
                ("Primary energy (PE)", "MJ", self.usage_pe_mj, self.embodied_pe_mj)]


@dataclass(frozen=True)
class Scope:
    """The whole fleet, one service, or one site."""

    service: str | None = None
    site: str | None = None

    @property
    def label(self) -> str:
        if self.service:
            return f"service {self.service}"
        if self.site:
            return f"site {self.site}"
        return "whole fleet"

    @property
    def slug(self) -> str:
        return f"service-{self.service}" if self.service else f"site-{self.site}" if self.site else "fleet"


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
    energy_by_source: dict[str, float] = field(default_factory=dict)  # power_source -> Wh


@dataclass(frozen=True)
class InventoryFacts:
    """A host's last inventory before the period's end (fp_inventory)."""

    host: str
    kind: str
    site: str
    lifetime_h: float | None
    embodied_gwp_total_gco2e: float | None
    first_seen: datetime


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
