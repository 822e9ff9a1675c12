"""The collector's configuration (TOML, `FLEETPRINT_COLLECTOR_*` overrides): see examples/collector.toml.

`CollectorConfig` assembles the sections of collector/settings.py and checks what types alone
cannot say, some of it against the models' data (zones, grid profiles, the budget file).
"""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    ReportSettings,
    RollupSettings,
    SiteSettings,
)
from fleetprint.config import load_config
from fleetprint.mqtt import MqttSettings
from fleetprint.report.extra import INSTALL, missing_modules


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
    report: ReportSettings = msgspec.field(default_factory=ReportSettings)
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
        check_report(self.report)
        if self.report.deliveries and not self.rollups.enabled:
            raise ValueError("rollups.enabled: report.deliveries are sent once the rollups of a period's last day "
                             "are written")


def _check_zone(key: str, name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{key}: {name!r} is not a time zone name (e.g. Europe/Paris, UTC)") from None


def _check_file(key: str, path: str) -> None:
    if path and not Path(path).is_file():
        raise ValueError(f"{key}: no such file {path}")


def check_report(report: ReportSettings) -> None:
    """The report's defaults, the mail relay and each delivery: what types alone cannot say."""
    _check_zone("report.tz", report.tz)
    smtp = report.smtp
    if smtp.host and "@" not in smtp.sender:
        raise ValueError("report.smtp.sender: the address the reports are sent from, e.g. fleetprint@example.org")
    if smtp.username and not smtp.password_file:
        raise ValueError("report.smtp.password_file: the relay's password for report.smtp.username")
    _check_file("report.smtp.password_file", smtp.password_file)
    _check_file("report.smtp.ca_file", smtp.ca_file)
    names: set[str] = set()
    for delivery in report.deliveries:
        key = f"report.deliveries.{delivery.name}"
        if delivery.name in names:
            raise ValueError(f"{key}: two deliveries have this name")
        names.add(delivery.name)
        if sum(1 for given in (delivery.service, delivery.site, delivery.department) if given) > 1:
            raise ValueError(f"{key}: give one of service, site and department, not several")
        if not (delivery.email_to or delivery.webhook_url):
            raise ValueError(f"{key}: give email_to, webhook_url or both")
        if not delivery.formats:
            raise ValueError(f"{key}.formats: at least one of html, pdf, csv")
        if delivery.webhook_url and not delivery.webhook_url.startswith(("http://", "https://")):
            raise ValueError(f"{key}.webhook_url: not an http(s) URL: {delivery.webhook_url!r}")
        for address in delivery.email_to:
            if parseaddr(address)[1].count("@") != 1:
                raise ValueError(f"{key}.email_to: not a mail address: {address!r}")
        if delivery.email_to and not smtp.host:
            raise ValueError(f"report.smtp.host: {key}.email_to needs a mail relay")
        if delivery.tz:
            _check_zone(f"{key}.tz", delivery.tz)
        _check_file(f"{key}.webhook_secret_file", delivery.webhook_secret_file)
    if report.deliveries:
        missing = missing_modules({kind for delivery in report.deliveries for kind in delivery.formats})
        if missing:
            raise ValueError(f"report.deliveries: producing reports needs the [report] extra (missing: "
                             f"{', '.join(missing)}): {INSTALL}")


def load_collector_config(path: str | None, check: bool = True) -> CollectorConfig:
    """Load and validate the collector config, or raise ConfigError (without `check`: the types only)."""
    return load_config(path, CollectorConfig, "collector", check=check)
