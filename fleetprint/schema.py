"""The wire schema shared by the agent and the collector (DESIGN §3).

Payloads are JSON. Each message names its schema and version in a `schema` field, so a
collector can reject what it does not understand. Reports are at version 2
(`fleetprint.report/2`: a sample's CPU shares are `cpu_shares`); the collector still reads
version 1 (`fleetprint.report/1`: the same, with the shares under `services`), which agents
send when no sample carries CPU shares (`encode_report`), so that a collector of an earlier
release reads them too. Decoding is strict: unknown fields,
wrong types, out-of-range numbers and naive timestamps are errors. msgspec typed decoding
is used because it validates while it parses (about 5 µs for a report, against about
32 µs for json + pydantic).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal

import msgspec

INVENTORY_SCHEMA = "fleetprint.inventory/1"
REPORT_SCHEMA = "fleetprint.report/2"
REPORT_SCHEMA_V1 = "fleetprint.report/1"
MAX_PAYLOAD_BYTES = 256 * 1024
HOST_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}\Z"

HostId = Annotated[str, msgspec.Meta(pattern=HOST_ID_PATTERN)]
ShortText = Annotated[str, msgspec.Meta(max_length=256)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*\Z")]
UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Percent = Annotated[float, msgspec.Meta(ge=0.0, le=100.0)]
Share = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Watts = Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)]
Gigabytes = Annotated[float, msgspec.Meta(ge=0.0, le=1e7)]
IntervalSeconds = Annotated[float, msgspec.Meta(gt=0.0, le=86_400.0)]
Weight = Annotated[float, msgspec.Meta(gt=0.0, le=1e6)]
# A sensor's reading: bounded loosely so that one broken sensor cannot void a whole report;
# the collector judges plausibility per host (collector/impact/ladder.py).
MeasuredWatts = Annotated[float, msgspec.Meta(ge=0.0, le=1e9)]
# CPU time of each service's processes during a sample's interval, as a share of the host's CPU
# capacity (all cores): comparable with cpu_util_pct / 100.
CpuShares = Annotated[dict[Label, Share], msgspec.Meta(max_length=256)]

# A thin client is named in the agent's config (host.kind): nothing the OS says tells one from a
# small desktop. Collectors before it refuse an inventory of that kind: upgrade them first.
MachineKind = Literal["server", "desktop", "laptop", "vm", "thin_client"]

# Measured power channels a sample may carry, each the mean over the sample's interval, in W:
POWER_CHANNELS = {
    "wall": "the whole machine at the wall: BMC (IPMI DCMI or Redfish)",
    "battery": "the whole machine on battery: discharge power, only while discharging",
    "rapl_package": "CPU packages (RAPL), all sockets; includes core and uncore",
    "rapl_core": "CPU cores (RAPL pp0), all sockets; part of rapl_package",
    "rapl_uncore": "integrated GPU and uncore (RAPL pp1), all sockets; part of rapl_package",
    "rapl_dram": "memory (RAPL dram), all sockets",
    "gpu": "discrete GPUs (NVML), all boards",
}
DiskKind = Literal["ssd", "hdd", "nvme", "unknown"]


class _Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every wire struct: unknown fields are errors."""


class Cpu(_Strict):
    """The host's processors, as the OS reports them."""

    model: ShortText
    vendor: ShortText = ""
    sockets: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    cores: Annotated[int, msgspec.Meta(ge=1, le=65_536)] = 1
    threads: Annotated[int, msgspec.Meta(ge=1, le=65_536)] = 1
    tdp_w: Watts | None = None


class Disk(_Strict):
    """One block device."""

    name: ShortText
    kind: DiskKind
    size_gb: Gigabytes


class Gpu(_Strict):
    """One graphics or compute accelerator."""

    model: ShortText
    vendor: ShortText = ""
    memory_gb: Gigabytes | None = None


class Monitor(_Strict):
    """A display the host drives, from its EDID (Linux, Windows) or what the OS says of it (macOS)."""

    maker: ShortText = ""  # the EDID's PNP manufacturer id ("DEL", "SAM"), else the OS's maker name
    model: ShortText = ""  # the EDID's display name (e.g. "DELL P2419H"), else its product code
    serial: ShortText = ""  # the EDID's serial string, else its serial number; "" when it says none
    diagonal_in: Annotated[float, msgspec.Meta(gt=0.0, le=1000.0)] | None = None  # visible image, inches
    year: Annotated[int, msgspec.Meta(ge=1990, le=2100)] | None = None  # year of manufacture
    builtin: bool = False  # the machine's own panel (a laptop's, an all-in-one's): in the machine's figures


class Inventory(_Strict, tag_field="schema", tag=INVENTORY_SCHEMA):
    """What the impact model needs to know about a host, sent at start and on change."""

    host_id: HostId
    taken_at: UtcTime
    kind: MachineKind
    cpu: Cpu
    ram_gb: Gigabytes
    vendor: ShortText = ""
    model: ShortText = ""
    ram_modules: Annotated[int, msgspec.Meta(ge=1, le=1024)] | None = None
    disks: Annotated[list[Disk], msgspec.Meta(max_length=256)] = []
    gpus: Annotated[list[Gpu], msgspec.Meta(max_length=64)] = []
    monitors: Annotated[list[Monitor], msgspec.Meta(max_length=32)] = []
    battery: bool = False
    virtualisation: ShortText = ""
    os: ShortText = ""
    agent_version: ShortText = ""
    # Operator-supplied facts, from the agent's config.
    site: Label | None = None
    department: Label | None = None
    zone: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}\Z")] | None = None
    purchase_date: date | None = None
    lifetime_years: Annotated[float, msgspec.Meta(gt=0.0, le=50.0)] | None = None
    # Services the whole host serves, with relative weights (e.g. {"mail": 2, "web": 1}); a
    # sample's CPU time per service is its `cpu_shares`.
    services: Annotated[dict[Label, Weight], msgspec.Meta(max_length=64)] = {}
    # Each power source the agent knows, and whether it reads it: "ok", or why not
    # ("absent: no /sys/class/powercap", "denied: energy_uj is readable by root only", ...).
    power_sources: Annotated[dict[Label, ShortText], msgspec.Meta(max_length=32)] = {}


class Sample(_Strict):
    """Usage of one host over one interval that ends at `ts` (UTC)."""

    ts: UtcTime
    interval_s: IntervalSeconds
    cpu_util_pct: Percent
    mem_used_bytes: NonNegInt = 0
    mem_total_bytes: NonNegInt = 0
    disk_read_bytes: NonNegInt = 0
    disk_write_bytes: NonNegInt = 0
    net_rx_bytes: NonNegInt = 0
    net_tx_bytes: NonNegInt = 0
    # Measured mean power over the interval per channel (POWER_CHANNELS), only those read.
    power_w: Annotated[dict[Label, MeasuredWatts], msgspec.Meta(max_length=64)] = {}
    # CPU share of each service seen during the interval (the agent's process rules); absent
    # without process rules.
    cpu_shares: CpuShares = {}


class SampleV1(Sample):
    """A sample as `fleetprint.report/1` says it: its CPU shares under their first name,
    `services`. Decoded, it is a Sample like another (`cpu_shares`)."""

    cpu_shares: CpuShares = msgspec.field(default={}, name="services")


class Report(_Strict, tag_field="schema", tag=REPORT_SCHEMA):
    """One or more samples of one host; `seq` only grows, across restarts too."""

    host_id: HostId
    seq: NonNegInt
    samples: Annotated[list[Sample], msgspec.Meta(min_length=1, max_length=2880)]
    dropped_samples: NonNegInt = 0


class ReportV1(Report, tag=REPORT_SCHEMA_V1):
    """A report as agents of earlier releases send it, and as agents send one whose samples carry
    no CPU shares (`encode_report`). Decoded, it is a Report like another."""

    samples: Annotated[list[SampleV1], msgspec.Meta(min_length=1, max_length=2880)]


_encoder = msgspec.json.Encoder()
# A tagged union makes the `schema` field mandatory (a single tagged type would not).
_message_decoder = msgspec.json.Decoder(Report | ReportV1 | Inventory)


class PayloadError(ValueError):
    """A payload that is not a valid message; `reason` is a short machine-readable word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode(message: Report | Inventory) -> bytes:
    """Serialise a message to its JSON wire form."""
    return _encoder.encode(message)


def encode_report(report: Report) -> bytes:
    """A report as an agent publishes it: `fleetprint.report/2` when a sample carries CPU shares,
    else the same content as `fleetprint.report/1`, which collectors of every release read.

    Collectors are upgraded before agents; this way only the agents with process rules depend
    on it (docs/operations.md, "Upgrading")."""
    if type(report) is Report and not any(sample.cpu_shares for sample in report.samples):
        report = ReportV1(report.host_id, report.seq, report.samples, report.dropped_samples)
    return _encoder.encode(report)


def _decode(payload: bytes, expected: type[Report] | type[Inventory]):
    expected_schema = expected.__struct_config__.tag
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError("oversize", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        message = _message_decoder.decode(payload)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if "`$.schema`" in text or "field `schema`" in text:
            raise PayloadError("wrong_schema", f"expected {expected_schema}: {text}") from None
        raise PayloadError("invalid", text) from None
    except msgspec.DecodeError as exc:
        raise PayloadError("malformed", str(exc)) from None
    except RecursionError:
        raise PayloadError("malformed", "nested too deeply") from None
    if not isinstance(message, expected):
        raise PayloadError("wrong_schema", f"expected {expected_schema}, got {message.__struct_config__.tag}")
    return message


def decode_report(payload: bytes) -> Report:
    """Decode and validate a report, or raise PayloadError."""
    return _decode(payload, Report)


def decode_inventory(payload: bytes) -> Inventory:
    """Decode and validate an inventory, or raise PayloadError."""
    return _decode(payload, Inventory)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


def inventory_digest(inventory: Inventory) -> str:
    """A stable hash of what an inventory says, ignoring when it was taken."""
    import hashlib

    unstamped = msgspec.structs.replace(inventory, taken_at=datetime(1970, 1, 1, tzinfo=timezone.utc))
    return hashlib.sha256(encode(unstamped)).hexdigest()[:32]
