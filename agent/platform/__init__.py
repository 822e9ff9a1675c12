"""The machine as the agent reads it, whatever its OS: one interface, one implementation per OS.

psutil's layout: callers use `Platform` and never see the OS; `host_platform()` picks the
implementation, a private module per OS, and each reads the machine under a root ("/" live, a
recorded machine in tests). A reader that finds nothing gives an empty value, never an error.

| reader | Linux (`linux.py`, from the files agent/sources reads) |
|---|---|
| `cpu` (model, vendor, counts) | /proc/cpuinfo; psutil's counts on the live root |
| `machine` (maker, model, the chassis' kind) | SMBIOS in /sys/class/dmi/id, the device tree's model |
| `ram_gb` | /proc/meminfo |
| `disks` | /sys/block |
| `gpus` | PCI class codes in /sys/bus/pci/devices |
| `virtualisation` | DMI, /proc/cpuinfo, container marks; systemd-detect-virt on the live root |
| `monitors` | the EDIDs of the connected connectors in /sys/class/drm |
| `has_battery` | /sys/class/power_supply |
| power meters | the power sources registered for the platform's `name` (agent/power) |
| `process_times`, `process_facts` (the process scan) | /proc/PID/stat and cgroup; psutil |
| `state_dir` | /var/lib/fleetprint-agent |
| `os_name` | os-release(5) and the kernel release |
| `machine_id`, `hostname` (the host id) | /etc/machine-id, the kernel's hostname |
| `awake_clock` (a sample's interval) | CLOCK_MONOTONIC, which stops while the machine sleeps |

Windows has its own module (`windows.py`: the registry, WMI through PowerShell once per
inventory, psutil, one system call per process scan; its table is in its docstring), named
in `_IMPLEMENTATIONS` by `sys.platform` ("win32"), and so has macOS ("darwin", `macos.py`:
sysctl, system_profiler and ioreg once per inventory, psutil; its table is in its docstring).
Any other OS gets the Linux readers, which find none of their files there and leave the
fields empty.
"""

from __future__ import annotations

import abc
import importlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from fleetprint.schema import Cpu, Disk, Gpu, MachineKind, Monitor

if TYPE_CHECKING:
    import psutil

    from fleetprint.agent.services import ProcessFacts

LIVE_ROOT = Path("/")
# sys.platform -> the module (in this package) and its Platform class.
_IMPLEMENTATIONS = {"linux": ("linux", "LinuxPlatform"), "win32": ("windows", "WindowsPlatform"),
                    "darwin": ("macos", "MacPlatform")}
_FALLBACK = _IMPLEMENTATIONS["linux"]


@dataclass(frozen=True)
class Machine:
    """The maker's description of the machine; empty where the firmware gives none."""

    vendor: str = ""
    model: str = ""
    kind: MachineKind | None = None  # what the chassis says it is; None if it says nothing


@dataclass(frozen=True)
class Virtualisation:
    """What the host runs on: `vm` names a hypervisor, `container` a container engine."""

    vm: str = ""
    container: str = ""

    @property
    def name(self) -> str:
        """The innermost layer, as systemd-detect-virt says it; "" on bare metal."""
        return self.container or self.vm


@dataclass(frozen=True, slots=True)
class ProcessTimes:
    """One process's CPU time at a scan, in seconds."""

    pid: int
    ppid: int
    started: float  # seconds since the epoch: with the pid, tells a process from a later one with its pid
    own_s: float  # user + system
    children_s: float  # user + system of its reaped children (0 where the OS does not count them)


class Platform(abc.ABC):
    """Every reader the agent uses, for the machine under `root`."""

    name: ClassVar[str]  # the OS family, as power sources name the platforms they run on
    state_dir: ClassVar[str]  # where the agent keeps its queue and sequence number by default
    names_ignore_case: ClassVar[bool] = False  # file, user and service names, for the service rules

    def __init__(self, root: Path = LIVE_ROOT) -> None:
        self.root = root

    @staticmethod
    def awake_clock() -> float:
        """Seconds on a clock that stops while the machine sleeps: a sample's interval is the
        time the machine was awake, so the hours a laptop slept are not billed as awake time.
        Linux's CLOCK_MONOTONIC (time.monotonic) does not count suspend."""
        return time.monotonic()

    @abc.abstractmethod
    def cpu(self) -> Cpu:
        """The processors: model, vendor, sockets, cores and threads."""

    @abc.abstractmethod
    def machine(self) -> Machine:
        """Maker, model and the kind its chassis says."""

    @abc.abstractmethod
    def ram_gb(self) -> float:
        """The memory the OS can use, in GiB; 0 when unknown."""

    @abc.abstractmethod
    def disks(self) -> list[Disk]:
        """The physical disks, by name."""

    @abc.abstractmethod
    def gpus(self) -> list[Gpu]:
        """The GPUs (accelerators, not a BMC's or a VM's display adapter)."""

    @abc.abstractmethod
    def virtualisation(self) -> Virtualisation:
        """The hypervisor and the container the agent runs in."""

    @abc.abstractmethod
    def monitors(self) -> list[Monitor]:
        """The displays the machine drives, its own panel included (marked `builtin`)."""

    @abc.abstractmethod
    def has_battery(self) -> bool:
        """Whether a battery powers the machine (not a mouse's or a headset's)."""

    @abc.abstractmethod
    def process_times(self) -> list[ProcessTimes]:
        """Every process's CPU time now (a cheap scan: it runs at every sample)."""

    @abc.abstractmethod
    def process_facts(self, pid: int) -> ProcessFacts:
        """What the service rules look at; unreadable fields are empty. Raises psutil.NoSuchProcess
        for a process that is gone."""

    @abc.abstractmethod
    def os_name(self) -> str:
        """The OS's name and version, as a person would say it."""

    @abc.abstractmethod
    def machine_id(self) -> str:
        """The OS's stable id of this installation (32 hex digits), or "" if it has none."""

    @abc.abstractmethod
    def hostname(self) -> str:
        """The machine's name; "" when unknown."""


def psutil_facts(process: psutil.Process, name: str = "", windows_services: tuple[str, ...] = ()
                 ) -> tuple[ProcessFacts, bool]:
    """What the service rules look at, read through psutil (Windows and macOS), and whether the OS
    denied some of it (AccessDenied: the field is left empty). `name` stands in for a name psutil
    cannot give. Raises psutil.NoSuchProcess for a process that is gone."""
    import psutil

    from fleetprint.agent.services import ProcessFacts

    denied = False

    def attempt(getter, default=""):
        nonlocal denied
        try:
            return getter()
        except psutil.AccessDenied:
            denied = True
            return default
        except psutil.NoSuchProcess:
            raise
        except (psutil.Error, OSError):  # Wine, and processes that end meanwhile, raise plain OSError
            return default

    facts = ProcessFacts(name=attempt(process.name) or name, exe=attempt(process.exe),
                         cmdline=" ".join(attempt(process.cmdline, [])), user=attempt(process.username),
                         cgroup="", windows_services=windows_services)
    return facts, denied


def host_platform(root: Path = LIVE_ROOT, system: str = sys.platform) -> Platform:
    """The readers of `system` (default: this OS) for the machine under `root`."""
    module, cls = _IMPLEMENTATIONS.get(system, _FALLBACK)
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)(root)


def default_state_dir() -> str:
    """Where the agent keeps its state on this OS unless the config says otherwise."""
    return host_platform().state_dir
