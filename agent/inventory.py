"""The agent's inventory: what the host is, read through the platform layer and the operator's facts.

The platform's readers read the machine under `root` ("/" in production, a recorded tree in
tests); a missing or unreadable source degrades to a default, never to an exception. The
operator's facts are the config's `[host]` section, `HostFacts`, declared here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, cast

import msgspec

from fleetprint import __version__
from fleetprint.agent.platform import LIVE_ROOT, Machine, Virtualisation, host_platform
from fleetprint.schema import HOST_ID_PATTERN, Inventory, MachineKind, utc_now

# List limits of the wire schema: a host beyond them (a SAN's hundreds of LUNs) keeps its
# first devices rather than send an inventory the collector would reject.
_MAX_DISKS = 256
_MAX_GPUS = 64
_MAX_MONITORS = 32
_HOST_ID_APP_KEY = b"fleetprint host id"


class HostFacts(msgspec.Struct, forbid_unknown_fields=True):
    """What only the operator knows about the host: sent in the inventory."""

    id: Annotated[str, msgspec.Meta(pattern=HOST_ID_PATTERN)] | None = None
    site: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    # The organisation's unit the host belongs to (a directorate, a faculty): a tag like site.
    department: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+\Z")] | None = None
    zone: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}\Z")] | None = None
    kind: str | None = None
    purchase_date: date | None = None
    lifetime_years: Annotated[float, msgspec.Meta(gt=0, le=50)] | None = None
    # Services the whole host serves, with weights: {mail = 2, web = 1}.
    services: dict[Annotated[str, msgspec.Meta(min_length=1, max_length=64)], Annotated[float, msgspec.Meta(gt=0)]] = {}


def collect_inventory(
    facts: HostFacts, host_id: str, root: Path = LIVE_ROOT, now: datetime | None = None,
    power_sources: Mapping[str, str] | None = None,
) -> Inventory:
    """Take the host's inventory at `now` (default: the current time, UTC), with each power
    source's status (`PowerReader.statuses()`)."""
    platform = host_platform(root)
    machine = platform.machine()
    virt = platform.virtualisation()
    battery = platform.has_battery()
    return Inventory(
        host_id=host_id,
        taken_at=now or utc_now(),
        kind=_machine_kind(facts, virt, machine, battery),
        cpu=platform.cpu(),
        ram_gb=platform.ram_gb(),
        vendor=machine.vendor,
        model=machine.model,
        disks=platform.disks()[:_MAX_DISKS],
        gpus=platform.gpus()[:_MAX_GPUS],
        monitors=platform.monitors()[:_MAX_MONITORS],
        battery=battery,
        virtualisation=virt.name,
        os=platform.os_name(),
        agent_version=__version__,
        site=facts.site,
        department=facts.department,
        zone=facts.zone,
        purchase_date=facts.purchase_date,
        lifetime_years=facts.lifetime_years,
        services=dict(facts.services),
        power_sources=dict(power_sources or {}),
    )


def derive_host_id(root: Path = LIVE_ROOT) -> str:
    """A stable host id: "fp-" and 16 hex digits derived from /etc/machine-id, else the hostname.

    The machine id is hashed with an application key, as machine-id(5) asks, so the id
    sent on the wire does not reveal it. Raises ValueError when neither gives an id.
    """
    platform = host_platform(root)
    machine_id = platform.machine_id()
    if re.fullmatch(r"[0-9a-f]{32}", machine_id) and machine_id != "0" * 32:
        digest = hmac.new(bytes.fromhex(machine_id), _HOST_ID_APP_KEY, hashlib.sha256).hexdigest()
        return f"fp-{digest[:16]}"
    host_id = re.sub(r"[^A-Za-z0-9._-]", "-", platform.hostname()).strip("-")[:64]
    if not host_id:
        raise ValueError("no machine id and no hostname: set host.id in the agent config")
    return host_id


def _machine_kind(facts: HostFacts, virt: Virtualisation, machine: Machine, battery: bool) -> MachineKind:
    """The operator's word; else "vm" under a hypervisor; else the chassis type; else a
    battery means a laptop; else "server" (the common case for a host without a chassis
    type: ARM boards, whitebox servers). A container alone does not make a VM: it reports
    the kind of the machine it runs on."""
    if facts.kind:
        return cast(MachineKind, facts.kind)  # one of MachineKind: AgentConfig.check saw to it
    if virt.vm:
        return "vm"
    return machine.kind or ("laptop" if battery else "server")
