"""The hourly estate job: each device's hour as `fp_host` and `fp_service` points.

Run by one collector (the budgets' evaluator, leader.py) every `[assets] interval_s`; each run
writes every whole hour not yet written (the first run, from the first hour a device counts in;
after an import with `--from`, again from that day, the others' points rewritten as they were),
at most `catch_up_hours` back (a collector that was down fills the gap), and remembers where it
stopped in the estate file. A device an agent reports (its
`host_id` is a known host, or its serial a monitor an agent lists) is left to the agent: counted
once. Rewriting an hour writes the same points (same series and time), so a run repeated after a
failed write never double-counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fleetprint.collector.assets.estate import Estate
from fleetprint.collector.assets.footprint import (
    AgentCoverage,
    DeviceModel,
    counted_in,
    device_model,
    past_lifetime,
)
from fleetprint.collector.assets.register import EstateDevice
from fleetprint.collector.impact.grid import GridFactors, ZoneFactors, zone_factors
from fleetprint.collector.settings import AttributionSettings, ImpactSettings, SiteSettings
from fleetprint.collector.store.lineprotocol import format_field, series_key
from fleetprint.collector.store.points import HOST_MEASUREMENT, SERVICE_MEASUREMENT
from fleetprint.collector.store.sink import Sink
from fleetprint.timestamps import epoch_ms

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
_PROGRESS = "written_through"
_BACKFILL = "backfill_from"
_BATCH_LINES = 5000


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


class EstateJob:
    """Writes the estate's whole hours, each once it has ended, and remembers where it stopped."""

    def __init__(self, estate: Estate, sink: Sink, grid: GridFactors, sites: Mapping[str, SiteSettings],
                 impact: ImpactSettings, attribution: AttributionSettings,
                 coverage: Callable[[], AgentCoverage] = AgentCoverage, catch_up_hours: int = 168) -> None:
        self.estate = estate
        self.sink = sink
        self.grid = grid
        self.sites = sites
        self.impact = impact
        self.unallocated = attribution.unallocated
        self.coverage = coverage
        self.catch_up = timedelta(hours=catch_up_hours)
        self._zones: dict[str, ZoneFactors] = {}

    def run(self, now: datetime) -> int:
        """Write every whole hour before `now` not yet written; returns the points written."""
        end = floor_hour(now)
        written = self.estate.get_progress(_PROGRESS)
        backfill = self.estate.get_progress(_BACKFILL)  # an import counted new devices from a past day
        if written and datetime.fromisoformat(written) >= end and not backfill:
            return 0  # no whole hour since the last run: the estate is not read
        devices = self.estate.devices(listed_before=end)
        if written:
            start = datetime.fromisoformat(written)
        else:  # the first run: from the first hour a device counts in
            start = min((floor_hour(device.listed_at) for device in devices), default=end)
        if backfill:
            start = min(start, floor_hour(datetime.fromisoformat(backfill)))
        start = max(start, end - self.catch_up)
        coverage = self.coverage()
        prepared = [self.prepare(device) for device in devices if not coverage.covers(device)]
        points = 0
        hour = start
        while hour < end:
            lines = [text for device in prepared if counted_in(device.device, hour) for text in device.lines(hour)]
            for first in range(0, len(lines), _BATCH_LINES):
                self.sink.write(lines[first:first + _BATCH_LINES])
            points += len(lines)
            hour += HOUR
            if not written or hour > datetime.fromisoformat(written):
                self.estate.set_progress(_PROGRESS, hour.isoformat())
        if backfill:
            self.estate.clear_progress(_BACKFILL)
        return points

    def register_departments(self) -> dict[str, str]:
        """The departments the register gives the hosts agents report (by `host_id`)."""
        return self.estate.host_departments()

    def _zone(self, code: str) -> ZoneFactors:
        if code not in self._zones:
            try:
                self._zones[code] = zone_factors(code)
            except KeyError:
                log.warning("estate: no electricity factors for zone %s: using %s", code, self.impact.default_zone)
                self._zones[code] = zone_factors(self.impact.default_zone)
        return self._zones[code]

    def prepare(self, device: EstateDevice) -> PreparedDevice:
        """The device's model, zone and tags, worked out once per run."""
        asset = device.asset
        site = asset.site or self.impact.default_site
        site_settings = self.sites.get(site)
        zone = self._zone(asset.zone or (site_settings.zone if site_settings else None) or self.impact.default_zone)
        department = asset.department or (site_settings.department if site_settings else None) or ""
        model = device_model(asset)
        tags = {"department": department, "host": f"{device.source}/{asset.id}", "kind": asset.category,
                "site": site, "zone": zone.zone, "power_source": model.power_source,
                "embodied_source": model.embodied_source}
        return PreparedDevice(device, model, zone, site, site_settings.pue if site_settings else 1.0, self.grid,
                              series_key(HOST_MEASUREMENT, tags),
                              series_key(SERVICE_MEASUREMENT, {**tags, "service": asset.service or self.unallocated}))


@dataclass(frozen=True, slots=True)
class PreparedDevice:
    """One device's points, hour after hour: what changes per hour is the carbon intensity (profiles,
    live values), whether it is past its lifetime, and the time."""

    device: EstateDevice
    model: DeviceModel
    zone: ZoneFactors
    site: str
    pue: float
    grid: GridFactors
    host_head: str  # measurement and escaped tags
    service_head: str

    def lines(self, hour: datetime) -> tuple[str, str]:
        """The `fp_host` and `fp_service` points of the hour starting at `hour`, stamped at its end as a
        sample is."""
        model, zone = self.model, self.zone
        time_ms = epoch_ms(hour + HOUR)
        gwp_per_wh, grid_source = self.grid.gwp_gco2e_per_wh(zone, self.site, time_ms - 1)
        energy_wh = model.power_w  # one hour
        facility_wh = energy_wh * self.pue
        past = past_lifetime(self.device.asset, model.lifetime_years, hour)
        embodied = 0.0 if past else model.embodied_gwp_gco2e_per_h
        impacts = (f"interval_s=3600.0,power_w={model.power_w!r},energy_wh={energy_wh!r},"
                   f"usage_gwp_gco2e={facility_wh * gwp_per_wh!r},"
                   f"usage_adp_kgsbeq={facility_wh * zone.adp_kgsbeq_per_wh!r},"
                   f"usage_pe_mj={facility_wh * zone.pe_mj_per_wh!r},embodied_gwp_gco2e={embodied!r}")
        host = (f"{self.host_head} {impacts},pue={self.pue!r},gwp_gco2e_per_kwh={gwp_per_wh * 1000.0!r},"
                f"grid_source={format_field(grid_source)},past_lifetime={format_field(past)},"
                f"power_model={format_field(model.power_model)},asset_quantity={self.device.asset.quantity}i "
                f"{time_ms}")
        return host, f"{self.service_head} {impacts} {time_ms}"
