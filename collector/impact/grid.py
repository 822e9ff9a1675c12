"""Electricity impact factors per zone (ISO 3166 alpha-3, as Boavizta), per Wh in stored units."""

from __future__ import annotations

from dataclasses import dataclass

from fleetprint.collector.impact import boavizta

# Stored unit per the factor's unit per kWh: gCO2e/Wh = kgCO2e/kWh; kgSbeq and MJ per Wh = per kWh / 1000.
_PER_WH = {"gwp": 1.0, "adp": 1e-3, "pe": 1e-3}


@dataclass(frozen=True, slots=True)
class ZoneFactors:
    """Usage-phase impact of one Wh in a zone: gCO2e, kgSbeq and MJ."""

    zone: str
    gwp_gco2e_per_wh: float
    adp_kgsbeq_per_wh: float
    pe_mj_per_wh: float


def zone_factors(zone: str) -> ZoneFactors:
    """Boavizta's factors for `zone`; raises KeyError for a zone it does not know."""
    if not boavizta.known_zone(zone):
        raise KeyError(zone)
    per_wh = {c: boavizta.electricity_factor(zone, c) * _PER_WH[c] for c in boavizta.CRITERIA}
    return ZoneFactors(zone, per_wh["gwp"], per_wh["adp"], per_wh["pe"])
