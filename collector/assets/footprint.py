"""An estate device's hour: its power and energy, and its share of its manufacture.

Energy, in order: the register's yearly kWh (`declared`); its power in use times its hours of use
(`declared`); the category's typical yearly energy, the median of what makers declare for such
products (`modelled`, tools/fit_asset_categories.py). Spread evenly over the year's hours: a
register says nothing of when a device runs.

Manufacture, in order: the register's figure, the maker's (`declared`); the maker's product
footprint when the device's maker and model name a declared product (`declared`, matched as an
agent's host is: docs/impact-model.md, "Embodied impacts"); the category's median declared
figure (`fitted`). Spread over the device's lifetime (the register's, else the
category's median declared lifetime), hour by hour from its purchase date, and no more past
it (`past_lifetime`). ADP and PE of manufacture are left out (makers do not declare them).
`quantity` identical devices count `quantity` times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fleetprint.collector.assets.categories import TypicalFigures, typical_figures
from fleetprint.collector.assets.register import Asset, EstateDevice
from fleetprint.collector.impact.makers_footprints import declared_product

HOURS_PER_YEAR = 8760.0
DEFAULT_LIFETIME_YEARS = 5.0  # a category whose makers declare no lifetime


@dataclass(frozen=True)
class DeviceModel:
    """What one device (times its quantity) draws and owes per hour."""

    power_w: float
    power_source: str  # "declared" or "modelled"
    power_model: str  # "declared_yearly_kwh", "declared_power_and_hours", "category_median_tec"
    embodied_gwp_gco2e_per_h: float
    embodied_source: str  # "declared" or "fitted"
    lifetime_years: float


def device_model(asset: Asset, typical: TypicalFigures | None = None) -> DeviceModel:
    """The device's figures. The import holds the register to give what its category lacks
    (check_register); were a later release's table to lack it, the figure counts as 0."""
    typical = typical or typical_figures().get(asset.category) or TypicalFigures(None, 0, None, 0, None)
    if asset.yearly_kwh is not None:
        yearly_kwh, source, model = asset.yearly_kwh, "declared", "declared_yearly_kwh"
    elif asset.power_w is not None:
        yearly_kwh = asset.power_w * (asset.hours_per_day or 0) * (asset.days_per_year or 0) / 1000.0
        source, model = "declared", "declared_power_and_hours"
    else:
        yearly_kwh, source, model = float(typical.yearly_kwh or 0.0), "modelled", "category_median_tec"
    product = None if asset.manufacture_gwp_kgco2e is not None else declared_product(
        asset.maker, asset.model, asset.category == "monitor")
    if asset.manufacture_gwp_kgco2e is not None:
        manufacture_kg, embodied_source = asset.manufacture_gwp_kgco2e, "declared"
    elif product is not None:
        manufacture_kg, embodied_source = product.manufacture_gwp_kgco2e, "declared"
    else:
        manufacture_kg, embodied_source = float(typical.manufacture_gwp_kgco2e or 0.0), "fitted"
    lifetime = asset.lifetime_years or typical.lifetime_years or DEFAULT_LIFETIME_YEARS
    return DeviceModel(
        power_w=yearly_kwh * 1000.0 / HOURS_PER_YEAR * asset.quantity,
        power_source=source, power_model=model,
        embodied_gwp_gco2e_per_h=manufacture_kg * 1000.0 / (lifetime * HOURS_PER_YEAR) * asset.quantity,
        embodied_source=embodied_source, lifetime_years=lifetime,
    )


@dataclass(frozen=True)
class AgentCoverage:
    """What the agents report: host ids, and the serial numbers of the monitors they list."""

    host_ids: frozenset[str] = frozenset()
    serials: frozenset[str] = frozenset()

    def covers(self, device: EstateDevice) -> bool:
        """Whether an agent reports this device (then it counts as the agent's, not the register's)."""
        asset = device.asset
        return bool(asset.host_id and asset.host_id in self.host_ids) or bool(
            asset.serial and asset.category == "monitor" and asset.serial in self.serials)


def counted_in(device: EstateDevice, hour: datetime) -> bool:
    """Whether the device counts in the hour starting at `hour` (UTC): listed by then and not yet
    removed from the register, bought (when the date is known) and not yet disposed of."""
    asset = device.asset
    if device.listed_at > hour or (device.removed_at is not None and device.removed_at <= hour):
        return False
    day = hour.date()
    if asset.purchase_date is not None and asset.purchase_date > day:
        return False
    return asset.disposal_date is None or asset.disposal_date > day


def past_lifetime(asset: Asset, lifetime_years: float, hour: datetime) -> bool:
    """Whether the hour is past purchase + lifetime (unknown purchase: never)."""
    if asset.purchase_date is None:
        return False
    return hour.date() >= asset.purchase_date + timedelta(days=round(lifetime_years * 365.25))
