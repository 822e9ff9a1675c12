"""One sample's footprint: energy, usage and embodied impacts (pure arithmetic, per sample)."""

from __future__ import annotations

from dataclasses import dataclass

from fleetprint.collector.impact.host_model import HostModel
from fleetprint.collector.impact.ladder import PowerEstimate
from fleetprint.impacts import Impacts, LadderStep
from fleetprint.schema import Sample
from fleetprint.timestamps import epoch_ms


@dataclass(slots=True)  # made per sample: not frozen, which costs 5x to create
class SampleFootprint:
    """What one sample of one host cost: its power, from the ladder's `step`, and its impacts.

    `power_w` and `impacts.energy_wh` are the machine's and its external monitors' (the monitors'
    part, always modelled, in `monitor_power_w`); usage impacts count the site's PUE on top of
    them (the datacentre's cooling and losses), with the carbon intensity from `grid_source`.
    """

    power_w: float
    step: LadderStep
    impacts: Impacts
    pue: float = 1.0
    gwp_gco2e_per_kwh: float = 0.0
    grid_source: str = "boavizta"
    past_lifetime: bool = False
    calibration_ratio: float | None = None
    monitor_power_w: float = 0.0
    # The external monitors' part of the embodied impacts (GWP gCO2e, ADP kgSbeq, PE MJ), None without any.
    monitor_embodied: tuple[float, float, float] | None = None


def _monitors_embodied(model: HostModel, time_ms: int, hours: float,
                       counted: tuple[bool, ...] | None) -> tuple[float, float, float]:
    """The manufacture of the monitors this host counts in the interval (`counted`, one flag a monitor;
    None: all) charged to `hours` at `time_ms`: those past their lifetime carry none."""
    gwp = adp = pe = 0.0
    flags = counted if counted is not None else (True,) * len(model.monitor_embodied)
    for monitor, on in zip(model.monitor_embodied, flags):
        if on and (monitor.amortised_at_ms is None or time_ms < monitor.amortised_at_ms):
            rate = monitor.rate
            gwp += rate.gwp_gco2e_per_h * hours
            adp += (rate.adp_kgsbeq_per_h or 0.0) * hours
            pe += (rate.pe_mj_per_h or 0.0) * hours
    return gwp, adp, pe


def sample_footprint(model: HostModel, sample: Sample, power: PowerEstimate, gwp_gco2e_per_wh: float,
                     grid_source: str, pue: float = 1.0, time_ms: int | None = None,
                     monitor_power_w: float = 0.0, monitors_counted: tuple[bool, ...] | None = None
                     ) -> SampleFootprint:
    """The sample's energy at `power` plus its monitors', its usage impacts in its zone, its share
    of manufacture, its monitors' included (`time_ms`: the sample's `ts` in ms, when the caller has it
    already; `monitors_counted`: which of its external monitors it counts, None: all)."""
    hours = sample.interval_s / 3600.0
    power_w = power.power_w + monitor_power_w
    energy_wh = power_w * hours
    facility_wh = energy_wh * pue
    zone, embodied = model.zone, model.embodied
    time_ms = epoch_ms(sample.ts) if time_ms is None else time_ms
    past_lifetime = model.amortised_at_ms is not None and time_ms >= model.amortised_at_ms
    share = 0.0 if past_lifetime else hours
    adp_h, pe_h = embodied.adp_kgsbeq_per_h, embodied.pe_mj_per_h
    impacts = Impacts(energy_wh, facility_wh * gwp_gco2e_per_wh, facility_wh * zone.adp_kgsbeq_per_wh,
                      facility_wh * zone.pe_mj_per_wh, embodied.gwp_gco2e_per_h * share,
                      None if adp_h is None else adp_h * share, None if pe_h is None else pe_h * share)
    monitors = None
    if model.monitor_embodied:  # their part is in the host's embodied impacts, and said apart
        monitors = _monitors_embodied(model, time_ms, hours, monitors_counted)
        impacts.embodied_gwp_gco2e += monitors[0]
        impacts.embodied_adp_kgsbeq = (impacts.embodied_adp_kgsbeq or 0.0) + monitors[1]
        impacts.embodied_pe_mj = (impacts.embodied_pe_mj or 0.0) + monitors[2]
    return SampleFootprint(power_w, power.step, impacts, pue, gwp_gco2e_per_wh * 1000.0, grid_source,
                           past_lifetime, power.calibration_ratio, monitor_power_w, monitors)
