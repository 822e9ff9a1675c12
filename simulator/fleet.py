"""Virtual hosts generated reproducibly from a seed: kind, site, hardware, age, services, power sources.

CPU models come from boaviztapi's own CPU table (servers from Xeon and EPYC rows, desktops
and laptops from Core and Ryzen rows), with their cores, threads, TDP and release date, so
that every simulated CPU is one the collector's impact model knows. Each host is drawn from
its own random stream, keyed by the seed and its id: `sim-srv-0003` is the same machine
whatever the size of the fleet.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.util
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from fleetprint import __version__
from fleetprint.schema import Cpu, Disk, Inventory, MachineKind, Monitor

KINDS: tuple[MachineKind, ...] = ("server", "vm", "desktop", "laptop", "thin_client")
WORKSTATION_KINDS = ("desktop", "laptop", "thin_client")
ID_PREFIXES: dict[str, str] = {"server": "srv", "vm": "vm", "desktop": "dt", "laptop": "lt", "thin_client": "tc"}
DEFAULT_KIND_SHARES: dict[str, float] = {"server": 0.35, "vm": 0.30, "desktop": 0.20, "laptop": 0.15}
# Hardware older than purchase + lifetime carries no more embodied impacts: ages are drawn up
# to 1.4 lifetimes, so that about 30 % of the physical machines are past theirs.
LIFETIME_YEARS: dict[str, float] = {"server": 5.0, "desktop": 5.0, "laptop": 4.0, "thin_client": 5.0}
_MAX_AGE_FACTOR = 1.4
_CPU_GENERATION = timedelta(days=3 * 365)  # a machine's CPU was released at most this long before its purchase

Pattern = Literal["office", "public", "nightly"]  # when a service is busy (load.py)
SiteRole = Literal["datacentre", "office", "remote"]


@dataclass(frozen=True, slots=True)
class Site:
    """Where hosts are: servers and VMs in datacentres, desktops in offices, laptops in offices or remote."""

    name: str
    zone: str | None  # Boavizta's electricity zone; None: the collector's default
    tz: str  # local time for the daily patterns
    role: SiteRole


@dataclass(frozen=True, slots=True)
class Service:
    """A digital service hosts serve: `weight` is how often hosts serve it, `pattern` when it is busy."""

    name: str
    weight: float
    pattern: Pattern


DEFAULT_SITES: tuple[Site, ...] = (
    Site("paris-dc1", "FRA", "Europe/Paris", "datacentre"),
    Site("lyon-dc2", "FRA", "Europe/Paris", "datacentre"),
    Site("frankfurt-dc3", "DEU", "Europe/Berlin", "datacentre"),
    Site("paris-hq", "FRA", "Europe/Paris", "office"),
    Site("berlin-office", "DEU", "Europe/Berlin", "office"),
    Site("madrid-office", "ESP", "Europe/Madrid", "office"),
    Site("remote", None, "Europe/Paris", "remote"),
)
# The organisation's units (a city's directorates): who owns the workstations and the devices.
DEFAULT_DEPARTMENTS: tuple[str, ...] = ("finance", "human-resources", "urban-planning", "social-services",
                                        "communication", "it")
IT_DEPARTMENT = "it"
DEFAULT_SERVICES: tuple[Service, ...] = (
    Service("citizen-portal", 3.0, "public"),
    Service("mail", 2.0, "office"),
    Service("intranet", 2.0, "office"),
    Service("payroll", 1.5, "office"),
    Service("gis", 1.0, "office"),
    Service("backup", 1.0, "nightly"),
)
# Desktops and laptops serve their user: one service for the whole workplace.
WORKPLACE = Service("workplace", 1.0, "office")

_VENDORS: dict[str, tuple[tuple[str, str], ...]] = {
    "server": (("Dell Inc.", "PowerEdge R650"), ("Dell Inc.", "PowerEdge R740"), ("HPE", "ProLiant DL380 Gen10"),
               ("HPE", "ProLiant DL360 Gen11"), ("Lenovo", "ThinkSystem SR650")),
    "vm": (("QEMU", "Standard PC (Q35 + ICH9, 2009)"), ("VMware, Inc.", "VMware Virtual Platform")),
    "desktop": (("Dell Inc.", "OptiPlex 7090"), ("HP", "HP EliteDesk 800 G6 Small Form Factor PC"),
                ("Lenovo", "ThinkCentre M70q")),
    "laptop": (("Lenovo", "ThinkPad T14 Gen 3"), ("Dell Inc.", "Latitude 5430"), ("HP", "EliteBook 840 G8")),
    "thin_client": (("Dell Inc.", "Wyse 5070 Thin Client"), ("HP", "t640 Thin Client"), ("Lenovo", "ThinCentre M625q")),
}
# External monitors (EDID maker id, model, diagonal in inches) and laptop panels.
_MONITORS = (("DEL", "DELL P2422H", 23.8), ("DEL", "DELL U2722D", 27.0), ("HPN", "HP E24 G5", 23.8),
             ("LEN", "LEN T24i-30", 23.8), ("SAM", "S24R650", 23.8), ("DEL", "DELL P2222H", 21.5))
_PANELS = (13.3, 14.0, 14.0, 15.6)
_OS: dict[str, tuple[str, ...]] = {
    "server": ("Debian GNU/Linux 12 (bookworm)", "Ubuntu 22.04.4 LTS", "Red Hat Enterprise Linux 9.3 (Plow)"),
    "vm": ("Debian GNU/Linux 12 (bookworm)", "Ubuntu 24.04.1 LTS", "Rocky Linux 9.4 (Blue Onyx)"),
    "desktop": ("Ubuntu 22.04.4 LTS", "Ubuntu 24.04.1 LTS", "Fedora Linux 40 (Workstation Edition)"),
    "laptop": ("Ubuntu 24.04.1 LTS", "Fedora Linux 40 (Workstation Edition)", "Debian GNU/Linux 12 (bookworm)"),
    "thin_client": ("Ubuntu 22.04.4 LTS", "Debian GNU/Linux 12 (bookworm)"),
}
_VIRTUALISATION = {"QEMU": "kvm", "VMware, Inc.": "vmware"}


@dataclass(frozen=True, slots=True)
class CpuSpec:
    """One row of boaviztapi's CPU table."""

    name: str
    vendor: str
    cores: int
    threads: int
    tdp_w: float
    released: date


@dataclass(frozen=True)
class FleetSpec:
    """What a fleet is made of."""

    kind_shares: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_SHARES))
    sites: tuple[Site, ...] = DEFAULT_SITES
    services: tuple[Service, ...] = DEFAULT_SERVICES
    departments: tuple[str, ...] = DEFAULT_DEPARTMENTS  # workstations' owners; servers and VMs are IT_DEPARTMENT's
    wall_share: float = 0.2  # servers whose BMC the agent reads (exactly: the 1st, 6th, 11th... server)
    rapl_share: float = 0.5  # physical machines whose RAPL counters the agent reads
    process_rules_share: float = 0.7  # hosts that measure their services' CPU time (else weights only)
    workstation_hours: bool = False  # workstations report only while on (load.py), not around the clock


@dataclass(frozen=True, slots=True)
class VirtualHost:
    """One simulated machine: what its agent would put in its inventory, and which power it measures."""

    host_id: str
    kind: MachineKind
    key: int  # this host's noise stream (load.py), from the seed and the id
    site: Site
    department: str
    cpu: CpuSpec
    sockets: int
    threads: int  # hardware threads, or a VM's vCPUs
    ram_gb: float
    ram_modules: int | None
    disks: tuple[Disk, ...]
    vendor: str
    model: str
    os: str
    purchase_date: date | None
    lifetime_years: float | None
    services: tuple[tuple[Service, float], ...]  # (service, weight)
    process_rules: bool
    wall: bool
    rapl: bool
    monitors: tuple[Monitor, ...] = ()
    sleeps: bool = False  # off or asleep outside its working hours: no reports then (load.py)

    @property
    def battery(self) -> bool:
        return self.kind == "laptop"

    def power_sources(self) -> dict[str, str]:
        """The statuses the agent's power sources would give (agent/power.py)."""
        rapl = "ok" if self.rapl else (
            "absent: no /sys/class/powercap" if self.kind == "vm" else "absent: no RAPL zone in /sys/class/powercap")
        sources = {"rapl": rapl, "battery": "ok" if self.battery else "absent: no battery in /sys/class/power_supply"}
        if self.kind == "server":
            sources["ipmi"] = "ok" if self.wall else "not configured"
        return sources

    def inventory(self, taken_at: datetime) -> Inventory:
        """The inventory its agent would publish."""
        cores = self.threads if self.kind == "vm" else self.cpu.cores * self.sockets
        return Inventory(
            host_id=self.host_id, taken_at=taken_at, kind=self.kind,
            cpu=Cpu(model=self.cpu.name, vendor=self.cpu.vendor, sockets=self.sockets, cores=cores,
                    threads=self.threads),
            ram_gb=self.ram_gb, ram_modules=self.ram_modules, disks=list(self.disks), vendor=self.vendor,
            model=self.model, battery=self.battery, virtualisation=_VIRTUALISATION.get(self.vendor, ""), os=self.os,
            agent_version=f"{__version__}+simulated", site=self.site.name, department=self.department,
            zone=self.site.zone,
            purchase_date=self.purchase_date, lifetime_years=self.lifetime_years,
            services={service.name: weight for service, weight in self.services},
            power_sources=self.power_sources(), monitors=list(self.monitors),
        )


def cpu_table_path() -> Path:
    """boaviztapi's CPU table, found without importing boaviztapi."""
    spec = importlib.util.find_spec("boaviztapi")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("boaviztapi is not installed: pip install 'fleetprint[collector]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "crowdsourcing" / "cpu_specs.csv"


_SERVER_CPU = re.compile(r"^(Intel Xeon (Bronze|Silver|Gold|Platinum) |AMD EPYC \d)")
_CLIENT_CPU = re.compile(r"^(Intel Core i[3579]-|AMD Ryzen [3579] )")
_MOBILE_SUFFIX = re.compile(r"\d(U|H|HS|HX|HQ|P)$")


@functools.cache
def cpu_classes(path: Path | None = None) -> dict[str, tuple[CpuSpec, ...]]:
    """The table's CPUs with cores, threads, TDP and release date, by class ("server", "desktop",
    "laptop"), oldest first."""
    classes: dict[str, list[CpuSpec]] = {"server": [], "desktop": [], "laptop": []}
    with open(path or cpu_table_path(), newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if not (row["cores"] and row["threads"] and row["tdp"] and row["release_date"]):
                continue
            spec = CpuSpec(name=row["name"], vendor=row["manufacturer"], cores=int(float(row["cores"])),
                           threads=int(float(row["threads"])), tdp_w=float(row["tdp"]),
                           released=date.fromisoformat(row["release_date"]))
            if _SERVER_CPU.match(spec.name):
                classes["server"].append(spec)
            elif _CLIENT_CPU.match(spec.name):
                if _MOBILE_SUFFIX.search(spec.name) and spec.tdp_w <= 45:
                    classes["laptop"].append(spec)
                elif 35 <= spec.tdp_w <= 125:
                    classes["desktop"].append(spec)
    return {name: tuple(sorted(specs, key=lambda s: (s.released, s.name))) for name, specs in classes.items()}


def kind_counts(count: int, shares: Mapping[str, float]) -> dict[str, int]:
    """`count` split across kinds by their shares, to the nearest whole host (largest remainder)."""
    unknown = set(shares) - set(KINDS)
    if unknown or not shares or min(shares.values()) < 0 or sum(shares.values()) <= 0:
        raise ValueError(f"kind shares must be non-negative, not all zero, among {', '.join(KINDS)}: {dict(shares)}")
    total = sum(shares.values())
    exact = {kind: count * shares.get(kind, 0.0) / total for kind in KINDS}
    counts = {kind: math.floor(value) for kind, value in exact.items()}
    for kind in sorted(KINDS, key=lambda k: counts[k] - exact[k])[: count - sum(counts.values())]:
        counts[kind] += 1
    return counts


def host_key(seed: int, host_id: str) -> int:
    """A 64-bit key for one host's random streams."""
    return int.from_bytes(hashlib.blake2b(f"{seed}/{host_id}".encode(), digest_size=8).digest(), "big")


def generate_fleet(count: int, seed: int, reference: date, spec: FleetSpec = FleetSpec()) -> list[VirtualHost]:
    """`count` hosts, the same for the same seed, reference date and spec.

    `reference` is the day the hosts' ages are counted back from (today, for a live fleet).
    """
    hosts = []
    for kind, kind_count in kind_counts(count, spec.kind_shares).items():
        for number in range(1, kind_count + 1):
            host_id = f"sim-{ID_PREFIXES[kind]}-{number:04d}"
            # Exactly ceil(n × share) of the first n servers have a BMC, so that a small fleet has one.
            wall = kind == "server" and math.ceil(number * spec.wall_share) > math.ceil((number - 1) * spec.wall_share)
            hosts.append(_host(host_id, kind, seed, reference, spec, wall))
    return hosts


def _host(host_id: str, kind: MachineKind, seed: int, reference: date, spec: FleetSpec, wall: bool) -> VirtualHost:
    rng = random.Random(f"{seed}/{host_id}")
    role: tuple[SiteRole, ...] = {"server": ("datacentre",), "vm": ("datacentre",), "desktop": ("office",),
                                  "laptop": ("office", "remote"), "thin_client": ("office",)}[kind]
    sites = [site for site in spec.sites if site.role in role] or list(spec.sites)
    site = rng.choice(sites)
    lifetime = LIFETIME_YEARS.get(kind, LIFETIME_YEARS["server"])  # a VM's CPU: its physical host's age
    bought = reference - timedelta(days=round(rng.uniform(0.0, _MAX_AGE_FACTOR * lifetime) * 365.25))
    cpus = cpu_classes()[{"vm": "server", "thin_client": "laptop"}.get(kind, kind)]
    if kind == "thin_client":  # low-power parts only
        cpus = tuple(spec for spec in cpus if spec.tdp_w <= 15) or cpus
    cpu = _cpu_for(rng, cpus, bought)
    vendor, model = rng.choice(_VENDORS[kind])
    if kind == "server" or kind == "vm":
        services = _pick_services(rng, spec.services, rng.choice((1, 1, 2, 2, 3)))
    else:
        services = ((WORKPLACE, 1.0),)
    sockets = 1
    if kind == "server":
        sockets = 1 if cpu.name.endswith("P") else rng.choice((1, 2, 2))
        threads = cpu.threads * sockets
        modules = rng.choice((2, 4, 4, 6, 8)) * sockets
        ram_modules, ram_gb = modules, float(modules * rng.choice((16, 32, 32, 64)))
        backup = any(service.name == "backup" for service, _ in services)
        disks = _server_disks(rng, backup)
    elif kind == "vm":
        threads = rng.choice((2, 2, 4, 4, 8, 16))
        ram_modules, ram_gb = None, float(threads * rng.choice((2, 4, 4, 8)))
        disks = (Disk(name="vda", kind="unknown", size_gb=float(rng.choice((40, 80, 120, 200)))),)
    elif kind == "thin_client":
        threads, ram_modules, ram_gb = cpu.threads, 1, float(rng.choice((4, 8)))
        disks = (Disk(name="mmcblk0", kind="ssd", size_gb=float(rng.choice((16, 32, 64)))),)
    else:
        threads = cpu.threads
        ram_modules = 2 if kind == "desktop" else rng.choice((1, 2))
        ram_gb = float(ram_modules * rng.choice((8, 16)))
        disks = (Disk(name="nvme0n1", kind="nvme", size_gb=float(rng.choice((256, 512, 1024)))),)
        if kind == "desktop" and rng.random() < 0.3:
            disks += (Disk(name="sda", kind="hdd", size_gb=1000.0),)
    # Its own stream: the other draws, and so every existing fleet, stay as they were.
    department = IT_DEPARTMENT if kind in ("server", "vm") else random.Random(f"{seed}/{host_id}/department").choice(
        spec.departments)
    return VirtualHost(
        host_id=host_id, kind=kind, key=host_key(seed, host_id), site=site, department=department, cpu=cpu,
        sockets=sockets, threads=threads,
        ram_gb=ram_gb, ram_modules=ram_modules, disks=disks, vendor=vendor, model=model, os=rng.choice(_OS[kind]),
        purchase_date=None if kind == "vm" else bought, lifetime_years=None if kind == "vm" else lifetime,
        services=services, process_rules=rng.random() < spec.process_rules_share, wall=wall,
        rapl=kind != "vm" and rng.random() < spec.rapl_share,
        monitors=_monitors(random.Random(f"{seed}/{host_id}/monitors"), host_id, kind, site, bought),
        sleeps=spec.workstation_hours and kind in WORKSTATION_KINDS,
    )


def _monitors(rng: random.Random, host_id: str, kind: MachineKind, site: Site, bought: date) -> tuple[Monitor, ...]:
    """A workstation's displays, drawn from a stream of their own (the rest of a host is as before
    monitors were simulated): one or two external monitors on a desk, a laptop's own panel and at
    the office a docked monitor half the time. Serial numbers are the host's, so none is shared."""
    if kind not in WORKSTATION_KINDS:
        return ()
    panels: list[Monitor] = []
    if kind == "laptop":
        panels.append(Monitor(maker="LGD", model="", diagonal_in=rng.choice(_PANELS), year=bought.year, builtin=True))
    count = rng.choice((1, 2, 2)) if kind != "laptop" else int(site.role == "office" and rng.random() < 0.5)
    for n in range(count):
        maker, model, diagonal = rng.choice(_MONITORS)
        panels.append(Monitor(maker=maker, model=model, serial=f"{host_id.upper()}-{n}", diagonal_in=diagonal,
                              year=bought.year - rng.choice((0, 0, 1, 2))))
    return tuple(panels)


def _cpu_for(rng: random.Random, specs: tuple[CpuSpec, ...], bought: date) -> CpuSpec:
    """A CPU of its time: released in the few years before the purchase (else the newest before it)."""
    before = [spec for spec in specs if spec.released <= bought] or list(specs[:8])
    recent = [spec for spec in before if spec.released >= bought - _CPU_GENERATION]
    return rng.choice(recent or before[-max(1, len(before) // 4):])


def _pick_services(rng: random.Random, services: tuple[Service, ...], count: int) -> tuple[tuple[Service, float], ...]:
    """`count` distinct services drawn by their weights, each with a host weight of 1 to 3."""
    pool, picked = list(services), []
    for _ in range(min(count, len(pool))):
        service = rng.choices(pool, weights=[s.weight for s in pool])[0]
        pool.remove(service)
        picked.append((service, float(rng.choice((1, 1, 2, 3)))))
    return tuple(picked)


def _server_disks(rng: random.Random, backup: bool) -> tuple[Disk, ...]:
    system = rng.choice(("ssd", "nvme"))
    names = iter(f"sd{letter}" for letter in "abcdefghijklmnop")
    disks = [Disk(name="nvme0n1" if system == "nvme" else next(names), kind=system, size_gb=480.0)]
    if backup:
        size = float(rng.choice((8000, 12000, 16000)))
        disks += [Disk(name=next(names), kind="hdd", size_gb=size) for _ in range(rng.choice((4, 6, 8)))]
    else:
        size = float(rng.choice((960, 1920, 3840)))
        disks += [Disk(name=next(names), kind="ssd", size_gb=size) for _ in range(rng.choice((0, 2, 2, 4)))]
    return tuple(disks)
