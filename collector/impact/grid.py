"""Electricity impact factors per zone (ISO 3166 alpha-3, as Boavizta), per Wh in stored units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fleetprint.collector.impact import boavizta
from fleetprint.collector.impact.grid_live import LiveIntensity
from fleetprint.collector.impact.grid_profile import HOUR_MS, load_profile
from fleetprint.collector.settings import GridSettings, SiteSettings

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


class GridFactors:
    """The carbon intensity that applies to one sample, and where it came from.

    In order: the site's own figure (`[sites.X] gwp_gco2e_per_kwh`, e.g. a supplier's
    contract) `site`; the zone's hourly profile for the sample's hour `profile`; the live
    provider's recent value `live`; Boavizta's static factor for the zone `boavizta`.
    Abiotic depletion and primary energy always use Boavizta's static factors.
    """

    @classmethod
    def from_settings(cls, grid: GridSettings, sites: Mapping[str, SiteSettings]) -> GridFactors:
        """Site overrides, profile files (read now) and the live provider, as the `[grid]` and `[sites]`
        sections say."""
        live = None
        if grid.live_url:
            headers = {}
            if grid.live_token_file:
                headers[grid.live_token_header] = Path(grid.live_token_file).read_text(encoding="utf-8").strip()
            live = LiveIntensity(grid.live_url, dict(grid.live_zones), headers)
        return cls({name: site.gwp_gco2e_per_kwh for name, site in sites.items()
                    if site.gwp_gco2e_per_kwh is not None},
                   {zone: load_profile(Path(path)) for zone, path in grid.profiles.items()}, live)

    def __init__(self, site_gwp_gco2e_per_kwh: dict[str, float], profiles: dict[str, dict[int, float]],
                 live: LiveIntensity | None) -> None:
        self._sites = {site: value / 1000.0 for site, value in site_gwp_gco2e_per_kwh.items()}
        self._profiles = profiles
        self.live = live

    def gwp_gco2e_per_wh(self, zone: ZoneFactors, site: str, at_ms: int) -> tuple[float, str]:
        site_value = self._sites.get(site)
        if site_value is not None:
            return site_value, "site"
        profile = self._profiles.get(zone.zone)
        if profile is not None:
            hourly = profile.get(at_ms - at_ms % HOUR_MS)
            if hourly is not None:
                return hourly / 1000.0, "profile"
        if self.live is not None:
            live = self.live.lookup(zone.zone, at_ms)
            if live is not None:
                return live / 1000.0, "live"
        return zone.gwp_gco2e_per_wh, "boavizta"
