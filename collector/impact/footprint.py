"""One sample's footprint: power, energy, usage and embodied impacts (pure arithmetic, per sample)."""

from __future__ import annotations

from dataclasses import dataclass

from fleetprint.collector.impact.host_model import HostModel
from fleetprint.schema import Sample

POWER_SOURCE_MODELLED = "modelled"


@dataclass(frozen=True, slots=True)
class SampleFootprint:
    """What one sample of one host cost, in the units its field names say."""

    power_w: float
    power_source: str
    energy_wh: float
    usage_gwp_gco2e: float
    usage_adp_kgsbeq: float
    usage_pe_mj: float
    embodied_gwp_gco2e: float
    embodied_adp_kgsbeq: float | None
    embodied_pe_mj: float | None


def sample_footprint(model: HostModel, sample: Sample) -> SampleFootprint:
    """Modelled power at the sample's CPU load, its energy over the interval, and the impacts."""
    hours = sample.interval_s / 3600.0
    power_w = model.power.power_w(sample.cpu_util_pct)
    energy_wh = power_w * hours
    zone, embodied = model.zone, model.embodied
    adp_h, pe_h = embodied.adp_kgsbeq_per_h, embodied.pe_mj_per_h
    return SampleFootprint(
        power_w=power_w,
        power_source=POWER_SOURCE_MODELLED,
        energy_wh=energy_wh,
        usage_gwp_gco2e=energy_wh * zone.gwp_gco2e_per_wh,
        usage_adp_kgsbeq=energy_wh * zone.adp_kgsbeq_per_wh,
        usage_pe_mj=energy_wh * zone.pe_mj_per_wh,
        embodied_gwp_gco2e=embodied.gwp_gco2e_per_h * hours,
        embodied_adp_kgsbeq=None if adp_h is None else adp_h * hours,
        embodied_pe_mj=None if pe_h is None else pe_h * hours,
    )
