"""The collector's configuration (TOML, `FLEETPRINT_COLLECTOR_*` overrides): see examples/collector.toml.

`CollectorConfig` assembles the sections of collector/settings.py and checks what types alone
cannot say, some of it against the models' data (zones, grid profiles, the budget file).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from fleetprint.collector.settings import (
    AssetSettings,
    AttributionSettings,
    BudgetSettings,
    CollectorSettings,
    GridSettings,
    ImpactSettings,
    InfluxSettings,
    LifetimeSettings,
    RollupSettings,
    SiteSettings,
)
from fleetprint.config import load_config
from fleetprint.mqtt import MqttSettings


class CollectorConfig(msgspec.Struct, forbid_unknown_fields=True):
    """Top level of collector.toml."""

    collector: CollectorSettings = msgspec.field(default_factory=CollectorSettings)
    mqtt: MqttSettings = msgspec.field(default_factory=MqttSettings)
    influxdb: InfluxSettings = msgspec.field(default_factory=InfluxSettings)
    impact: ImpactSettings = msgspec.field(default_factory=ImpactSettings)
    attribution: AttributionSettings = msgspec.field(default_factory=AttributionSettings)
    rollups: RollupSettings = msgspec.field(default_factory=RollupSettings)
    grid: GridSettings = msgspec.field(default_factory=GridSettings)
    lifetimes: LifetimeSettings = msgspec.field(default_factory=LifetimeSettings)
    budgets: BudgetSettings = msgspec.field(default_factory=BudgetSettings)
    assets: AssetSettings = msgspec.field(default_factory=AssetSettings)
    sites: dict[str, SiteSettings] = {}

    def check(self) -> None:
        """Cross-field rules that types alone cannot say."""
        if self.influxdb.version == 2 and not (self.influxdb.token or self.influxdb.token_file):
            raise ValueError("influxdb.token: InfluxDB 2.x needs a token or token_file")
        if self.influxdb.version == 2 and not self.influxdb.org:
            raise ValueError("influxdb.org: InfluxDB 2.x needs an org")
        if self.collector.max_points_per_host_burst < 2880 * (self.collector.max_services_per_host + 1):
            raise ValueError("collector.max_points_per_host_burst: must hold the largest report allowed, "
                             "2,880 samples x (collector.max_services_per_host + 1) points")
        if self.influxdb.max_pending_points < self.influxdb.batch_size:
            raise ValueError("influxdb.max_pending_points: must be at least influxdb.batch_size")
        self.influxdb.check_rollup_storage()
        from fleetprint.collector.impact import boavizta

        for zone, key in [(self.impact.default_zone, "impact.default_zone")] + [
            (site.zone, f"sites.{name}.zone") for name, site in self.sites.items() if site.zone
        ]:
            if not boavizta.known_zone(zone):
                raise ValueError(f"{key}: no electricity factors for zone {zone!r}")
        from fleetprint.collector.impact.grid_profile import ProfileError, load_profile

        for zone, path in self.grid.profiles.items():
            try:
                load_profile(Path(path))
            except ProfileError as exc:
                raise ValueError(f"grid.profiles.{zone}: {exc}") from None
        if self.budgets.file:
            from fleetprint.collector.budgets.config import load_budgets
            from fleetprint.config import ConfigError

            try:
                load_budgets(self.budgets.file)
            except ConfigError as exc:
                raise ValueError(f"budgets.file: {exc}") from None
        if self.grid.live_url and "{zone}" not in self.grid.live_url:
            raise ValueError("grid.live_url: the URL needs a {zone} placeholder")


def load_collector_config(path: str | None, check: bool = True) -> CollectorConfig:
    """Load and validate the collector config, or raise ConfigError (without `check`: the types only)."""
    return load_config(path, CollectorConfig, "collector", check=check)
