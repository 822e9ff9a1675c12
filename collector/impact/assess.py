"""A sample's whole assessment: its power (the ladder), its footprint, and the split by service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fleetprint.collector.impact.attribution import ServiceFootprint, service_footprints, split
from fleetprint.collector.impact.footprint import SampleFootprint, sample_footprint
from fleetprint.collector.impact.grid import GridFactors
from fleetprint.collector.impact.host_model import HostModel
from fleetprint.collector.impact.ladder import PowerEstimate, PowerLadder
from fleetprint.collector.impact.monitors import MonitorLedger
from fleetprint.collector.settings import AttributionSettings, SiteSettings
from fleetprint.schema import Sample
from fleetprint.timestamps import epoch_ms


@dataclass(slots=True)  # made per sample: not frozen, which costs 5x to create
class Assessment:
    power: PowerEstimate
    footprint: SampleFootprint
    services: dict[str, ServiceFootprint]


class Assessor:
    """Per sample, and only formulas: boaviztapi has run once per host, when its inventory came."""

    def __init__(self, attribution: AttributionSettings, sites: Mapping[str, SiteSettings], grid: GridFactors,
                 ladder: PowerLadder | None = None, monitors: MonitorLedger | None = None) -> None:
        self.attribution = attribution
        self.site_pue = {name: site.pue for name, site in sites.items()}
        self.grid = grid
        self.ladder = ladder or PowerLadder()
        self.monitors = monitors or MonitorLedger()

    def assess(self, model: HostModel, sample: Sample, time_ms: int | None = None) -> Assessment:
        """`time_ms`: the sample's `ts` in ms, when the caller has it already."""
        time_ms = epoch_ms(sample.ts) if time_ms is None else time_ms
        power = self.ladder.estimate(model, sample)
        gwp_per_wh, grid_source = self.grid.gwp_gco2e_per_wh(model.zone, model.site, time_ms)
        counted, monitor_w = None, 0.0
        if model.monitors:  # counted once across hosts: their power and their manufacture
            counted = self.monitors.counted(model.host_id, model.monitors, time_ms - int(sample.interval_s * 1000),
                                            time_ms)
            monitor_w = sum(monitor.on_w for monitor, on in zip(model.monitors, counted) if on)
        fp = sample_footprint(model, sample, power, gwp_per_wh, grid_source, self.site_pue.get(model.site, 1.0),
                              time_ms, monitor_w, counted)
        fractions = split(sample.cpu_shares, model.service_weights, self.attribution.idle_rule,
                          self.attribution.unallocated)
        # Idle power scales with the power actually used (measured or calibrated), as the model's share of it;
        # monitors, on whatever the load, are shared out as idle power.
        idle_w = model.idle_w * (power.power_w / power.modelled_w) if power.modelled_w > 0 else 0.0
        idle_w += monitor_w
        return Assessment(power, fp, service_footprints(fp, idle_w, fractions, sample.cpu_shares))
