"""The agent's inventory: what the host is, read from the OS and the operator's facts.

Everything is read from files under `root` ("/" in production, a recorded tree in tests).
psutil and `platform` only fill what those files cannot give, and only on the live root.
A missing or unreadable file degrades to a default, never to an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import platform
import re
import shlex
import socket
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import cast

import psutil

from fleetprint import __version__
from fleetprint.agent.config import HostFacts
from fleetprint.agent.sources import read_attr
from fleetprint.agent.sources.battery import has_battery
from fleetprint.agent.sources.block import read_disks
from fleetprint.agent.sources.cpuinfo import read_cpu
from fleetprint.agent.sources.dmi import Dmi, read_dmi
from fleetprint.agent.sources.gpu import read_gpus
from fleetprint.agent.sources.virt import Virtualisation, detect_virtualisation
from fleetprint.schema import Inventory, MachineKind, utc_now

LIVE_ROOT = Path("/")
# List limits of the wire schema: a host beyond them (a SAN's hundreds of LUNs) keeps its
# first devices rather than send an inventory the collector would reject.
_MAX_DISKS = 256
_MAX_GPUS = 64
_HOST_ID_APP_KEY = b"fleetprint host id"
_GIB = 2**30


def collect_inventory(
    facts: HostFacts, host_id: str, root: Path = LIVE_ROOT, now: datetime | None = None,
    power_sources: Mapping[str, str] | None = None,
) -> Inventory:
    """Take the host's inventory at `now` (default: the current time, UTC), with each power
    source's status (`PowerReader.statuses()`)."""
    cpu = read_cpu(root)
    dmi = read_dmi(root)
    virt = detect_virtualisation(root)
    battery = has_battery(root)
    return Inventory(
        host_id=host_id,
        taken_at=now or utc_now(),
        kind=_machine_kind(facts, virt, dmi, battery),
        cpu=cpu,
        ram_gb=_ram_gb(root),
        vendor=dmi.vendor,
        model=dmi.product or read_attr(root / "proc/device-tree/model"),
        disks=read_disks(root)[:_MAX_DISKS],
        gpus=read_gpus(root)[:_MAX_GPUS],
        battery=battery,
        virtualisation=virt.name,
        os=_os_name(root),
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
    machine_id = read_attr(root / "etc/machine-id").lower()
    if re.fullmatch(r"[0-9a-f]{32}", machine_id) and machine_id != "0" * 32:
        digest = hmac.new(bytes.fromhex(machine_id), _HOST_ID_APP_KEY, hashlib.sha256).hexdigest()
        return f"fp-{digest[:16]}"
    hostname = read_attr(root / "proc/sys/kernel/hostname")
    if not hostname and root == LIVE_ROOT:
        hostname = socket.gethostname()
    host_id = re.sub(r"[^A-Za-z0-9._-]", "-", hostname).strip("-")[:64]
    if not host_id:
        raise ValueError("no machine id and no hostname: set host.id in the agent config")
    return host_id


def _machine_kind(facts: HostFacts, virt: Virtualisation, dmi: Dmi, battery: bool) -> MachineKind:
    """The operator's word; else "vm" under a hypervisor; else the chassis type; else a
    battery means a laptop; else "server" (the common case for a host without a chassis
    type: ARM boards, whitebox servers). A container alone does not make a VM: it reports
    the kind of the machine it runs on."""
    if facts.kind:
        return cast(MachineKind, facts.kind)  # one of the four: AgentConfig.check saw to it
    if virt.vm:
        return "vm"
    return dmi.machine_kind or ("laptop" if battery else "server")


def _ram_gb(root: Path) -> float:
    """MemTotal from /proc/meminfo, in GiB (2**30 bytes: the unit RAM is sold in, so a
    "32 GB" laptop reads about 31). MemTotal is what the OS can use: a little below what
    is installed."""
    for line in read_attr(root / "proc/meminfo").splitlines():
        key, _, value = line.partition(":")
        fields = value.split()
        if key == "MemTotal" and fields and fields[0].isdigit():
            return round(int(fields[0]) * 1024 / _GIB, 2)
    return round(psutil.virtual_memory().total / _GIB, 2) if root == LIVE_ROOT else 0.0


def _os_name(root: Path) -> str:
    """The distribution and the kernel release, e.g. "Debian GNU/Linux 12 (bookworm),
    kernel 6.1.0-18-amd64"."""
    kernel = read_attr(root / "proc/sys/kernel/osrelease")
    if not kernel and root == LIVE_ROOT:
        kernel = platform.release()
    return ", kernel ".join(part for part in (_pretty_name(root), kernel) if part)


def _pretty_name(root: Path) -> str:
    """PRETTY_NAME from os-release(5) (in /etc, else /usr/lib), its shell quoting undone."""
    text = read_attr(root / "etc/os-release") or read_attr(root / "usr/lib/os-release")
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "PRETTY_NAME":
            try:
                return " ".join(shlex.split(value))
            except ValueError:  # unbalanced quotes
                return value.strip("\"' ")
    return ""
