"""The collector's config sections, one struct per table of collector.toml (examples/collector.toml).

They sit below the models and the store, which each take their own section (`grid` and `sites`
for the grid factors, `attribution` for the split across services, `influxdb` for the sinks and
queries); collector/config.py assembles them into the whole `CollectorConfig` and checks it.
"""

from __future__ import annotations

import re
import socket
from typing import Annotated, Literal

import msgspec

Zone = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}\Z")]
# Defaults of what a host may cost (collector/ingest.py, collector/host_limits.py use them too).
MAX_SAMPLE_AGE_DAYS = 90.0
MAX_SAMPLE_AHEAD_S = 300.0
MAX_SERVICES_PER_HOST = 64
RETENTION_POLICY = re.compile(r"[A-Za-z0-9._-]{1,64}")


class CollectorSettings(msgspec.Struct, forbid_unknown_fields=True):
    """This collector's identity on the broker and its persistent session."""

    # MQTT client id: must be stable across restarts (the broker keeps the session by it).
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,64}\Z")] = msgspec.field(
        default_factory=lambda: "fleetprint-collector-" + "".join(
            c if c.isalnum() or c in "._-" else "-" for c in socket.gethostname())[:40]
    )
    share_group: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,64}\Z")] = "fleetprint"
    session_expiry_s: Annotated[int, msgspec.Meta(ge=0, le=4294967295)] = 7 * 86400
    receive_maximum: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 10000
    health_interval_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 10.0
    # Rewritten every health_interval_s, read by `fleetprint collector health` (fleetprint/health.py):
    # its directory must be writable (systemd's RuntimeDirectory; a tmpfs or emptyDir in containers).
    health_file: str = "/run/fleetprint-collector/health.json"
    # How long a report from a host with no inventory yet is held before it is rejected.
    inventory_wait_s: Annotated[float, msgspec.Meta(ge=0, le=86400)] = 60.0
    # Memory bounds in bytes of payload (docs/operations.md sizes them for a 1 GiB container):
    # reports held for their inventory (past it, the largest holder's oldest is rejected), and
    # messages the session process keeps for the collector (past it, it reads no more and the
    # broker keeps them).
    max_held_bytes: Annotated[int, msgspec.Meta(ge=262_144)] = 128 * 2**20
    max_queued_bytes: Annotated[int, msgspec.Meta(ge=262_144)] = 64 * 2**20
    # Samples older than this, or dated further ahead than max_sample_ahead_s, are refused
    # (`samples_refused_too_old`, `samples_refused_in_future`): a wrong clock or a hostile host
    # must not open database shards far from now nor freeze the rollups. The default covers an
    # agent's whole queue (200,000 samples: 69 days at 30 s).
    max_sample_age_days: Annotated[float, msgspec.Meta(gt=0, le=36500)] = MAX_SAMPLE_AGE_DAYS
    max_sample_ahead_s: Annotated[float, msgspec.Meta(ge=0, le=86400)] = MAX_SAMPLE_AHEAD_S
    # What one host may cost the others (collector/host_limits.py): distinct services it may
    # name (past it, their share goes to `unallocated`), and points per second it may bring,
    # with a burst saved up (past it, its reports are rejected as `rate_limited`).
    max_services_per_host: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = MAX_SERVICES_PER_HOST
    max_points_per_host_per_s: Annotated[float, msgspec.Meta(gt=0)] = 5000.0
    max_points_per_host_burst: Annotated[float, msgspec.Meta(ge=1)] = 300_000.0


class InfluxSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Where points go: InfluxDB 1.x (`/write`, database) or 2.x/3.x (bucket, org, token)."""

    version: Literal[1, 2] = 1
    url: str = "http://127.0.0.1:8086"
    database: str = "fleetprint"
    create_database: bool = True
    username: str | None = None
    password: str | None = None
    bucket: str = "fleetprint"
    org: str = ""
    token: str | None = None
    token_file: str | None = None
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 5000
    # Points waiting for the database, at most: past it, the collector stops taking messages
    # (the broker keeps them) until the writer has taken the batch.
    max_pending_points: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 50_000
    flush_interval_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 10.0
    # Where rollups are kept (docs/storage.md, "Retention"): a retention policy that keeps them
    # longer than the raw points in the database's default one; empty: the default one too.
    rollup_retention_policy: str = ""
    # Version 2: the bucket rollups are written to, mapped (DBRP) to `database` and rollup_retention_policy.
    rollup_bucket: str = ""

    def check_rollup_storage(self) -> None:
        """The rollups' retention policy and bucket: well named, and both or neither on InfluxDB 2.x."""
        policy, bucket = self.rollup_retention_policy, self.rollup_bucket
        if policy and not RETENTION_POLICY.fullmatch(policy):
            raise ValueError("influxdb.rollup_retention_policy: a retention policy's name is 1 to 64 letters, "
                             "digits, '.', '_' or '-'")
        if bucket and self.version == 1:
            raise ValueError("influxdb.rollup_bucket: InfluxDB 2.x only; 1.x keeps rollups in rollup_retention_policy")
        if self.version == 2 and policy and not bucket:
            raise ValueError("influxdb.rollup_bucket: InfluxDB 2.x writes rollups to a bucket of their own: the one "
                             f"mapped (DBRP) to database {self.database}, retention policy {policy}")
        if self.version == 2 and bucket and not policy:
            raise ValueError(f"influxdb.rollup_retention_policy: the retention policy bucket {bucket} is mapped "
                             f"(DBRP) to in database {self.database}, by which InfluxQL reads the rollups")

    def secret_token(self) -> str | None:
        if self.token_file:
            with open(self.token_file, encoding="utf-8") as handle:
                return handle.read().strip()
        return self.token


ServiceName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+\Z")]


class SiteSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Facts about a site that agents need not repeat."""

    zone: Zone | None = None
    # The department of the site's hosts that name none themselves.
    department: ServiceName | None = None
    # Services of the site's hosts that declare none themselves, with weights.
    services: dict[ServiceName, Annotated[float, msgspec.Meta(gt=0)]] = {}
    # Power usage effectiveness of the site's datacentre: facility energy / IT energy.
    pue: Annotated[float, msgspec.Meta(ge=1.0, le=4.0)] = 1.0
    # The site's own electricity carbon intensity (a supplier contract), instead of the zone's.
    gwp_gco2e_per_kwh: Annotated[float, msgspec.Meta(ge=0, le=2000)] | None = None


class GridSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Time-varying electricity carbon intensity (collector/impact/grid_*.py)."""

    # Hourly profile files per zone: Electricity Maps or RTE éCO2mix exports, or datetime,gco2e_per_kwh.
    profiles: dict[Zone, str] = {}
    # A live provider: URL template with {zone}; polled every live_refresh_s for the zones in use.
    live_url: str | None = None
    live_zones: dict[Zone, str] = {}
    live_token_file: str | None = None
    live_token_header: str = "auth-token"
    live_refresh_s: Annotated[float, msgspec.Meta(ge=60, le=86400)] = 900.0


class LifetimeSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Default lifetimes per kind of machine, in years, for hosts whose agent gives none
    (else Boavizta's: 4 years for servers and laptops, 6 for desktops and thin clients)."""

    server: Annotated[float, msgspec.Meta(gt=0, le=50)] | None = None
    vm: Annotated[float, msgspec.Meta(gt=0, le=50)] | None = None
    desktop: Annotated[float, msgspec.Meta(gt=0, le=50)] | None = None
    laptop: Annotated[float, msgspec.Meta(gt=0, le=50)] | None = None
    thin_client: Annotated[float, msgspec.Meta(gt=0, le=50)] | None = None
    # A workstation's external monitors, from their year of manufacture (else Boavizta's 6.6 years).
    monitor: Annotated[float, msgspec.Meta(gt=0, le=50)] | None = None


class AttributionSettings(msgspec.Struct, forbid_unknown_fields=True):
    """How a host's footprint is split across its services (collector/impact/attribution.py)."""

    idle_rule: Literal["cpu_share", "weights", "unallocated"] = "cpu_share"
    unallocated: ServiceName = "unallocated"


class ImpactSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Defaults of the impact model."""

    default_zone: Zone = "WOR"
    default_site: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "default"
    # Hardware threads of the physical hosts VMs run on (their share is vCPUs / this);
    # default: the VM's CPU model in Boavizta's platform_compute_medium archetype.
    vm_host_threads: Annotated[int, msgspec.Meta(ge=1, le=65536)] | None = None
    # Modelled server power: SPECpower (docs/power-model.md: the published results of the
    # server's CPU and socket count, else the fit on them), or Boavizta's profile for figures
    # comparable with BoaviztAPI (it overshoots measured wall power).
    server_power_model: Literal["specpower_fit", "boavizta"] = "specpower_fit"
    # Manufacture GWP: makers' declared figures where a device's maker and model match a product,
    # else a model fitted on them (docs/impact-model.md); "boavizta" keeps Boavizta's bottom-up figures.
    embodied_gwp_model: Literal["makers", "boavizta"] = "makers"


class RollupSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Rollups per service (hourly, daily) and per host (daily) (collector/rollups.py)."""

    enabled: bool = True
    interval_s: Annotated[float, msgspec.Meta(ge=1, le=86400)] = 300.0
    # A period is rolled up once it ended this long ago (samples arrive a little late).
    lag_s: Annotated[float, msgspec.Meta(ge=0, le=86400)] = 120.0


class AssetSettings(msgspec.Struct, forbid_unknown_fields=True):
    """The estate without agents (collector/assets, docs/assets.md)."""

    # The estate file `fleetprint assets import` writes; none: no estate job.
    estate_file: str | None = None
    # How often the job looks for whole hours to write (it writes each hour once it has ended).
    interval_s: Annotated[float, msgspec.Meta(ge=10, le=3600)] = 300.0
    # How far back a collector that was down fills the hours it missed.
    catch_up_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 90)] = 168


class BudgetSettings(msgspec.Struct, forbid_unknown_fields=True):
    """Budgets per service (docs/budgets.md); evaluated by one collector among those online."""

    file: str | None = None
    # An evaluator takes over only after being the first collector online this long.
    leader_settle_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 10.0


class SmtpSettings(msgspec.Struct, forbid_unknown_fields=True):
    """The mail relay scheduled reports are sent through (docs/report.md, "Delivery")."""

    host: str = ""
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 587
    # "starttls": plain connection upgraded to TLS (port 587); "tls": TLS from the start (465); "none": no TLS.
    security: Literal["starttls", "tls", "none"] = "starttls"
    # The CA bundle the relay's certificate is checked against (empty: the system's).
    ca_file: str = ""
    username: str = ""
    password_file: str = ""
    sender: str = ""
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 30.0


class DeliverySettings(msgspec.Struct, forbid_unknown_fields=True):
    """One report produced every period and handed to mail recipients and/or a webhook."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,64}\Z")]
    period: Literal["month", "year"] = "month"
    # The report's scope: the whole fleet, or one service, site or department.
    service: str | None = None
    site: str | None = None
    department: str | None = None
    formats: list[Literal["html", "pdf", "csv"]] = msgspec.field(default_factory=lambda: ["pdf", "csv"])
    email_to: list[str] = []
    webhook_url: str = ""
    # HMAC-SHA256 of the webhook's body, sent as `X-Fleetprint-Signature: sha256=<hex>`.
    webhook_secret_file: str = ""
    # The files' content in the webhook's JSON (base64); false: their names, sizes and sha256 only.
    webhook_attach: bool = True
    # The reader's language and time zone; default: the [report] section's.
    lang: Literal["en", "fr"] | None = None
    tz: str | None = None


class ReportSettings(msgspec.Struct, forbid_unknown_fields=True):
    """`fleetprint report`'s defaults and the reports the collector delivers on a schedule."""

    # The reader's language and time zone (IANA name): `fleetprint report`'s defaults, and the deliveries'.
    lang: Literal["en", "fr"] = "en"
    tz: str = "UTC"
    # Where delivered reports are written and kept, a folder per delivery.
    output_dir: str = "/var/lib/fleetprint-collector/reports"
    # How often the collector looks for a period whose report is due (once its last day is rolled up).
    check_interval_s: Annotated[float, msgspec.Meta(ge=1, le=86400)] = 900.0
    # A delivery that fails is tried again at each check, at most this many times a period.
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 12
    smtp: SmtpSettings = msgspec.field(default_factory=SmtpSettings)
    deliveries: list[DeliverySettings] = []
