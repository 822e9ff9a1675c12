"""The footprint's vocabulary, in the names storage gives it (docs/storage.md): the impact set
(`Impacts`) and the power ladder's steps (`LadderStep`).

The collector computes them per sample and per service (collector/impact), writes them
(collector/store/points.py) and sums them (collector/rollups.py); the report and the dashboards
read them back under the same names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any


@dataclass(slots=True)  # made per sample and per service: not frozen, which costs 5x to create
class Impacts:
    """Energy and the impacts of one phase and the other, in the stored units (Wh, gCO2e, kgSbeq, MJ).

    Usage impacts are the energy's (times the site's PUE and the zone's factors); embodied ones
    are the hardware's manufacture, spread over its lifetime. A host whose embodied ADP or PE
    Boavizta cannot give has None there (not written); sums count it as 0.
    """

    energy_wh: float = 0.0
    usage_gwp_gco2e: float = 0.0
    usage_adp_kgsbeq: float = 0.0
    usage_pe_mj: float = 0.0
    embodied_gwp_gco2e: float = 0.0
    embodied_adp_kgsbeq: float | None = 0.0
    embodied_pe_mj: float | None = 0.0

    def part(self, usage: float, embodied: float) -> Impacts:
        """The fraction `usage` of the energy and usage impacts, and `embodied` of the embodied ones."""
        adp, pe = self.embodied_adp_kgsbeq, self.embodied_pe_mj
        return Impacts(self.energy_wh * usage, self.usage_gwp_gco2e * usage, self.usage_adp_kgsbeq * usage,
                       self.usage_pe_mj * usage, self.embodied_gwp_gco2e * embodied,
                       None if adp is None else adp * embodied, None if pe is None else pe * embodied)

    def add(self, row: Mapping[str, Any]) -> Impacts:
        """Add a stored row's fields (missing or null count as 0); returns self."""
        for name in IMPACT_FIELDS:
            setattr(self, name, (getattr(self, name) or 0.0) + float(row.get(name) or 0.0))
        return self

    def __add__(self, other: Impacts) -> Impacts:
        return Impacts(*((getattr(self, name) or 0.0) + (getattr(other, name) or 0.0) for name in IMPACT_FIELDS))

    @property
    def energy_kwh(self) -> float:
        return self.energy_wh / 1000.0

    @property
    def usage_kgco2e(self) -> float:
        return self.usage_gwp_gco2e / 1000.0

    @property
    def embodied_kgco2e(self) -> float:
        return self.embodied_gwp_gco2e / 1000.0

    @property
    def kgco2e(self) -> float:
        """Both phases' GWP, in kgCO2e."""
        return self.usage_kgco2e + self.embodied_kgco2e


# The impact set's stored field names, in the order the points write them.
IMPACT_FIELDS = tuple(f.name for f in fields(Impacts))


class LadderStep(StrEnum):
    """Where a sample's power figure came from: the step of the power ladder
    (collector/impact/ladder.py, docs/impact-model.md) that gave it, stored in the `power_source`
    tag. Not to be confused with the agent's power sources (RAPL, IPMI, ...: agent/power/), the
    sensors whose readings the ladder chooses from. In the order docs/impact-model.md lists them."""

    WALL = "wall"  # the BMC's reading of the whole machine (IPMI DCMI or Redfish)
    BATTERY = "battery"  # a laptop's discharge power while on battery
    COMPONENTS = "components"  # measured CPU packages, memory and GPUs, plus the modelled rest
    CALIBRATED = "calibrated"  # components or the model, times the host's learned wall correction
    MODELLED = "modelled"  # the host model at the sample's CPU utilisation

    @property
    def measured(self) -> bool:
        """Whether the figure comes from a measurement rather than from the model alone."""
        return self is not LadderStep.MODELLED


MEASURED_STEPS = frozenset(step for step in LadderStep if step.measured)
