"""macOS 12+ (Intel and Apple silicon): sysctl, system_profiler, ioreg and psutil.

What is read where, once per inventory (each command run at most once, with a bounded
timeout, its text output parsed in pure Python so that tests run it on Linux from recordings
of real Macs, tests/data/macos/):
- `sysctl` (one run, the names in SYSCTL_NAMES): the CPU's model (machdep.cpu.brand_string)
  and vendor, cores and threads, the packages, the model identifier (hw.model), the memory,
  and whether a hypervisor runs the machine (kern.hv_vmm_present, macOS 11+);
- `system_profiler` (one run, text form, the data types in PROFILER_TYPES): the model's name
  and identifier (SPHardwareDataType: "MacBook Air" is a laptop, "iMac", "Mac mini", "Mac
  Studio" and "Mac Pro" desktops; the identifier's prefix where the name says nothing), the GPUs
  (SPDisplaysDataType), the disks (SPSerialATADataType and SPNVMeDataType: whole disks with
  their medium type; SPStorageDataType's physical drives where neither lists one, as on Apple
  silicon), the OS's name and version (SPSoftwareDataType);
- `ioreg -rd1 -c IOPlatformExpertDevice`: the Mac's hardware UUID (IOPlatformUUID), the host
  id's source as /etc/machine-id is on Linux;
- psutil: the battery's presence, the process scan (processes whose times macOS refuses are
  left out and counted in `skipped`, facts it refuses left empty and counted in `denied`),
  what the service rules look at;
- the monitors, as the GLPI Agent reads them: `ioreg -r -lw0 -d 1 -c CLASS` for
  AppleBacklightDisplay (an Intel Mac's own panel) and AppleDisplay (a monitor on an Intel
  Mac), whose `IODisplayEDID` is the EDID (agent/sources/edid.py), and AppleCLCD2 (Apple
  silicon), whose `DisplayAttributes` give the EDID's maker, name, serial, year and size, and
  `"external" = Yes` for a monitor (its absence: the Mac's own panel);

A command that is missing, fails or does not answer in time leaves its fields empty, and the
inventory's log says which and why (`CommandResult.error`), never an error. The battery's
power is a power source of its own (agent/power/battery_macos.py).
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import psutil

from fleetprint.agent.platform import LIVE_ROOT, Machine, Platform, ProcessTimes, Virtualisation, psutil_facts
from fleetprint.agent.services import ProcessFacts
from fleetprint.agent.sources.edid import parse_edid
from fleetprint.schema import Cpu, Disk, DiskKind, Gpu, MachineKind, Monitor

log = logging.getLogger(__name__)

# Every Mac on macOS 12+ has these but machdep.cpu.vendor (Intel only), which comes last: an
# unknown name is reported on stderr, and whatever sysctl prints is read whatever its exit status.
SYSCTL_NAMES = ("hw.model", "hw.memsize", "hw.packages", "hw.physicalcpu", "hw.logicalcpu",
                "machdep.cpu.brand_string", "machdep.cpu.core_count", "machdep.cpu.thread_count",
                "kern.hv_vmm_present", "machdep.cpu.vendor")
PROFILER_TYPES = ("SPHardwareDataType", "SPSoftwareDataType", "SPDisplaysDataType", "SPStorageDataType",
                  "SPSerialATADataType", "SPNVMeDataType")
SYSCTL = ("sysctl", *SYSCTL_NAMES)
SYSTEM_PROFILER = ("system_profiler", *PROFILER_TYPES)
IOREG_PLATFORM = ("ioreg", "-rd1", "-c", "IOPlatformExpertDevice")
IOREG_DISPLAYS = tuple(("ioreg", "-r", "-lw0", "-d", "1", "-c", cls)
                       for cls in ("AppleBacklightDisplay", "AppleDisplay", "AppleCLCD2"))
TIMEOUTS_S = {"sysctl": 5.0, "system_profiler": 60.0, "ioreg": 10.0}
# One read serves every platform object made within this time (the inventory and the power
# sources' checks at start), as on Windows.
_REUSE_S = 60.0
_cache: dict[tuple[str, ...], tuple[float, CommandResult]] = {}

# The model's name (SPHardwareDataType "Model Name"), else its identifier's prefix (hw.model:
# "MacBookPro18,1"; Macs since 2022 say "Mac14,2" for every kind, so the name decides first).
_KINDS_BY_NAME: tuple[tuple[str, MachineKind], ...] = (
    ("macbook", "laptop"), ("powerbook", "laptop"), ("ibook", "laptop"), ("imac", "desktop"),
    ("mac mini", "desktop"), ("mac studio", "desktop"), ("mac pro", "desktop"), ("xserve", "server"))
_KINDS_BY_IDENTIFIER: tuple[tuple[str, MachineKind], ...] = (
    ("macbook", "laptop"), ("powerbook", "laptop"), ("imac", "desktop"), ("macmini", "desktop"),
    ("macpro", "desktop"), ("xserve", "server"))
# hw.model in a VM: VMware Fusion, Parallels Desktop, Apple's Virtualization framework (UTM, Tart).
_VM_MODELS = (("vmware", "vmware"), ("parallels", "parallels"), ("virtualmac", "apple"), ("virtualbox", "oracle"))
_GPU_VENDORS = (("apple", "Apple"), ("nvidia", "NVIDIA"), ("amd", "AMD"), ("ati", "AMD"), ("intel", "Intel"))
_BYTES = re.compile(r"\(([\d\s.,\u00a0\u202f']+) bytes\)")  # "494,38 GB (494 384 795 648 bytes)", any locale
_WHOLE_DISK = re.compile(r"^disk\d+$")
_IOREG_VALUE = re.compile(r'^\s*[|\s]*"(?P<key>[^"]+)" = (?P<value>.*)$')
_IOREG_OBJECT = re.compile(r"^[|\s]*\+-o (?P<name>\S+)", re.MULTILINE)
_PRODUCT_ATTRIBUTES = re.compile(r'"ProductAttributes"=\{(?P<body>[^{}]*)\}')
_ATTRIBUTE = re.compile(r'"(?P<key>\w+)"=(?:"(?P<text>[^"]*)"|(?P<number>\d+))')
_CM_PER_IN = 2.54


@dataclass(frozen=True)
class CommandResult:
    """A command's standard output, or why there is none."""

    text: str = ""
    error: str = ""


Runner = Callable[[Sequence[str]], CommandResult]


def run_command(argv: Sequence[str], timeout_s: float | None = None) -> CommandResult:
    """Run `argv` with a bounded timeout; never raises. Output is decoded as UTF-8 (macOS's
    tools write UTF-8), an undecodable byte replaced."""
    timeout_s = timeout_s if timeout_s is not None else TIMEOUTS_S.get(argv[0], 10.0)
    try:
        completed = subprocess.run(list(argv), capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout_s,
                                   check=False)
    except subprocess.TimeoutExpired:
        return CommandResult(error=f"{argv[0]} did not answer within {timeout_s:g} s")
    except OSError as exc:
        return CommandResult(error=f"cannot run {argv[0]}: {exc.strerror or exc}")
    text = completed.stdout.decode("utf-8", errors="replace")
    if completed.returncode != 0 and not text.strip():
        stderr = completed.stderr.decode("utf-8", errors="replace").strip().splitlines()
        return CommandResult(error=f"{argv[0]} exited with {completed.returncode}"
                             + (f": {stderr[-1][:160]}" if stderr else ""))
    return CommandResult(text=text)


def _cached_run(argv: Sequence[str]) -> CommandResult:
    key = tuple(argv)
    now = time.monotonic()
    if key in _cache and now - _cache[key][0] < _REUSE_S:
        return _cache[key][1]
    started = time.monotonic()
    result = run_command(argv)
    log.debug("%s read in %.1f s", argv[0], time.monotonic() - started)
    _cache[key] = (time.monotonic(), result)
    return result


class MacPlatform(Platform):
    name = "macos"

    def __init__(self, root=None, run: Runner | None = None) -> None:
        super().__init__(root or LIVE_ROOT)
        self._run = run or _cached_run  # tests give recordings
        self._outputs: dict[tuple[str, ...], CommandResult] = {}
        self.denied = 0  # processes whose facts the OS would not give in full (AccessDenied)
        self.skipped = 0  # processes the last scan left out: the OS would not give their times

    @property
    def state_dir(self) -> str:  # type: ignore[override]
        """/Library/Application Support/fleetprint, as platformdirs says: the last of its site data
        directories, which is the system's own whatever Python runs the agent (under Homebrew's
        Python, platformdirs puts $(brew --prefix)/share/fleetprint first, a directory of the
        Homebrew user's, not of the root daemon's)."""
        from platformdirs.macos import MacOS

        return MacOS("fleetprint", appauthor=False, multipath=True).site_data_dir.split(os.pathsep)[-1]

    # -- what is read once per inventory

    def output(self, argv: Sequence[str]) -> str:
        """The text of `argv`'s run ("" when it failed: logged once, with the reason)."""
        key = tuple(argv)
        if key not in self._outputs:
            result = self._run(argv)
            if result.error:
                log.warning("inventory: %s: %s: left empty", " ".join(argv[:1]), result.error)
            self._outputs[key] = result
        return self._outputs[key].text

    @cached_property
    def sysctl(self) -> dict[str, str]:
        return parse_sysctl(self.output(SYSCTL))

    @cached_property
    def profile(self) -> dict[str, Any]:
        return parse_profile(self.output(SYSTEM_PROFILER))

    def cpu(self) -> Cpu:
        return cpu_from(self.sysctl, self.profile)

    def machine(self) -> Machine:
        """As the model says; where it says nothing, a Mac is a workstation: a laptop if a battery
        powers it, else a desktop (not the server other OSes' unknown machines default to)."""
        machine = machine_from(self.sysctl, self.profile)
        if machine.kind is None:
            machine = Machine("Apple", machine.model, "laptop" if self.has_battery() else "desktop")
        return machine

    def ram_gb(self) -> float:
        """hw.memsize, else SPHardwareDataType's "Memory: 16 GB", else what psutil sees."""
        memory = _int(self.sysctl.get("hw.memsize")) or memory_bytes(_hardware(self.profile).get("Memory"))
        return round((memory or psutil.virtual_memory().total) / 2**30, 2)

    def disks(self) -> list[Disk]:
        return disks_from(self.profile)

    def gpus(self) -> list[Gpu]:
        return gpus_from(self.profile)

    def virtualisation(self) -> Virtualisation:
        return virtualisation_from(self.sysctl, self.profile)

    def monitors(self) -> list[Monitor]:
        return monitors_from_ioreg(*(self.output(argv) for argv in IOREG_DISPLAYS))

    def has_battery(self) -> bool:
        try:
            return psutil.sensors_battery() is not None  # IOPowerSources: no internal battery -> None
        except (OSError, RuntimeError, AttributeError):
            return False

    def os_name(self) -> str:
        return os_name_from(self.profile)

    def machine_id(self) -> str:
        return machine_id_from(self.output(IOREG_PLATFORM))

    def hostname(self) -> str:
        return socket.gethostname()

    @staticmethod
    def awake_clock() -> float:
        """CLOCK_UPTIME_RAW: "does not increment while the system is asleep" (clock_gettime(3)
        on macOS), so a sample spanning a sleep counts the awake time only."""
        return time.clock_gettime(time.CLOCK_UPTIME_RAW)  # type: ignore[attr-defined]

    # -- the process scan, at every sample

    def process_times(self) -> list[ProcessTimes]:
        times, self.skipped = scan_processes(psutil.process_iter(["ppid", "create_time", "cpu_times"]))
        if self.skipped:
            log.debug("process scan: %d processes' times denied, left out", self.skipped)
        return times

    def process_facts(self, pid: int) -> ProcessFacts:
        facts, denied = psutil_facts(psutil.Process(pid))
        if denied:
            self.denied += 1
            log.debug("process %d (%s): some facts denied", pid, facts.name)
        return facts


def scan_processes(processes: Iterator[Any]) -> tuple[list[ProcessTimes], int]:
    """Each process's CPU time from psutil's `process_iter(["ppid", "create_time", "cpu_times"])`,
    and how many were skipped because macOS refused them (another user's process when the
    agent does not run as root) or gave no times. macOS does not count reaped children's time."""
    times, denied = [], 0
    for process in processes:
        info = process.info
        cpu = info.get("cpu_times")
        if cpu is None or info.get("create_time") is None:  # AccessDenied: psutil left the field None
            denied += 1
            continue
        times.append(ProcessTimes(process.pid, info.get("ppid") or 0, info["create_time"], cpu.user + cpu.system, 0.0))
    return times, denied


# -- parsers of the commands' text output


def parse_sysctl(text: str) -> dict[str, str]:
    """`sysctl name...` output ("name: value" lines) as {name: value}."""
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if not sep:
            name, sep, value = line.partition(" = ")  # the BSD form some names print
        if sep and name.strip():
            values[name.strip()] = value.strip()
    return values


def parse_profile(text: str) -> dict[str, Any]:
    """system_profiler's text output as nested dicts: a "Name:" line opens a section holding the
    lines indented under it, a "Key: value" line is a value. Sections of the same name in one
    parent (two "Headphone:" devices) are kept as "Name", "Name #2", ..."""
    tree: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, tree)]
    for line in text.splitlines():
        content = line.strip()
        if not content:
            continue
        indent = len(line) - len(line.lstrip())
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        key, sep, value = content.partition(": ")
        if sep:
            parent[_unique(parent, key.strip())] = value.strip()
        elif content.endswith(":"):
            section: dict[str, Any] = {}
            parent[_unique(parent, content[:-1].strip())] = section
            stack.append((indent, section))
    return tree


def _unique(parent: dict[str, Any], key: str) -> str:
    if key not in parent:
        return key
    number = 2
    while f"{key} #{number}" in parent:
        number += 1
    return f"{key} #{number}"


def _section(tree: dict[str, Any], *path: str) -> dict[str, Any]:
    for key in path:
        value = tree.get(key)
        if not isinstance(value, dict):
            return {}
        tree = value
    return tree


def _hardware(profile: dict[str, Any]) -> dict[str, Any]:
    return _section(profile, "Hardware", "Hardware Overview")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text.isdigit() else None


def _first_int(value: Any) -> int | None:
    """8 from "8 (4 performance and 4 efficiency)"."""
    match = re.match(r"\s*(\d+)", _text(value))
    return int(match.group(1)) if match else None


def memory_bytes(value: Any) -> int:
    """2**34 from "16 GB" (system_profiler's binary units), 0 when unreadable."""
    match = re.fullmatch(r"(\d+)\s*([MGT])B", _text(value))
    return int(match.group(1)) * 2 ** {"M": 20, "G": 30, "T": 40}[match.group(2)] if match else 0


def model_identifier(sysctl: dict[str, str], profile: dict[str, Any]) -> str:
    return _text(sysctl.get("hw.model")) or _text(_hardware(profile).get("Model Identifier"))


def cpu_from(sysctl: dict[str, str], profile: dict[str, Any]) -> Cpu:
    """The brand string (sysctl; the profile's chip or processor name where sysctl gave none),
    the cores and threads macOS counts, Apple for Apple silicon."""
    hardware = _hardware(profile)
    model = " ".join(_text(sysctl.get("machdep.cpu.brand_string")).split())
    model = model or _text(hardware.get("Chip")) or _text(hardware.get("Processor Name"))
    vendor = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}.get(_text(sysctl.get("machdep.cpu.vendor")), "")
    if not vendor and model:
        vendor = "Apple" if model.startswith("Apple") else ("Intel" if "Intel" in model else "")
    profiled_cores = _first_int(hardware.get("Total Number of Cores") or hardware.get("Total Number Of Cores"))
    cores = (_int(sysctl.get("hw.physicalcpu")) or _int(sysctl.get("machdep.cpu.core_count")) or profiled_cores
             or psutil.cpu_count(logical=False) or 1)
    threads = (_int(sysctl.get("hw.logicalcpu")) or _int(sysctl.get("machdep.cpu.thread_count"))
               or psutil.cpu_count() or cores)
    packages = (_int(sysctl.get("hw.packages"))
                or _int(hardware.get("Number of Processors") or hardware.get("Number Of Processors")) or 1)
    return Cpu(model=model or "Unknown CPU", vendor=vendor, sockets=max(1, min(packages, 64)),
               cores=max(1, cores), threads=max(1, threads, cores))


def machine_from(sysctl: dict[str, str], profile: dict[str, Any]) -> Machine:
    """Apple, the model's name and identifier ("MacBook Air (MacBookAir10,1)"), and its kind."""
    name = _text(_hardware(profile).get("Model Name"))
    identifier = model_identifier(sysctl, profile)
    if not (name or identifier):
        return Machine()
    model = f"{name} ({identifier})" if name and identifier and name != identifier else (name or identifier)
    return Machine(vendor="Apple", model=model, kind=kind_of_model(name, identifier))


def kind_of_model(name: str, identifier: str) -> MachineKind | None:
    """laptop, desktop or server from the model's name, else its identifier; None when neither says
    (a VM's "VirtualMac2,1", an unknown "Mac15,3" without a name)."""
    for prefix, kind in _KINDS_BY_NAME:
        if name.lower().startswith(prefix):
            return kind
    for prefix, kind in _KINDS_BY_IDENTIFIER:
        if identifier.lower().startswith(prefix):
            return kind
    return None


def virtualisation_from(sysctl: dict[str, str], profile: dict[str, Any]) -> Virtualisation:
    """The hypervisor hw.model names (VMware7,1, Parallels-ARM, VirtualMac2,1), else "vm" when
    kern.hv_vmm_present says a hypervisor runs this macOS."""
    identifier = model_identifier(sysctl, profile).lower()
    for mark, vm in _VM_MODELS:
        if mark in identifier:
            return Virtualisation(vm=vm)
    if _text(sysctl.get("kern.hv_vmm_present")) == "1":
        return Virtualisation(vm="vm")
    return Virtualisation()


def gpus_from(profile: dict[str, Any]) -> list[Gpu]:
    """Each SPDisplaysDataType device of a GPU maker (not a VM's display adapter)."""
    gpus = []
    for title, device in _section(profile, "Graphics/Displays").items():
        if not isinstance(device, dict):
            continue
        vendor_text = _text(device.get("Vendor")).lower()
        vendor = next((name for mark, name in _GPU_VENDORS if vendor_text.startswith(mark)), None)
        if vendor is None:
            continue
        model = _text(device.get("Chipset Model")) or title.split(" #")[0]
        gpus.append(Gpu(model=model, vendor=vendor))
    return gpus


def _bytes(value: Any) -> int:
    """The bytes in "494,38 GB (494 384 795 648 bytes)", whatever the locale's digit grouping."""
    match = _BYTES.search(_text(value))
    digits = re.sub(r"\D", "", match.group(1)) if match else ""
    return int(digits) if digits else 0


def _disk_kind(node: dict[str, Any], nvme: bool) -> DiskKind:
    if nvme:
        return "nvme"
    medium = _text(node.get("Medium Type")).lower()
    return "ssd" if medium in ("solid state", "ssd") else ("hdd" if medium == "rotational" else "unknown")


def _whole_disks(tree: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for value in tree.values():
        if isinstance(value, dict):
            if _WHOLE_DISK.match(_text(value.get("BSD Name"))) and "Capacity" in value:
                yield value
            else:
                yield from _whole_disks(value)


def disks_from(profile: dict[str, Any]) -> list[Disk]:
    """The internal whole disks (disk0, ...) the SATA and NVMe buses list, with their capacity;
    where neither lists one (Apple silicon's "Apple Fabric"), the physical drives behind
    SPStorageDataType's volumes, each as big as its largest volume (an APFS container's
    capacity). Removable and detachable drives and disk images are left out."""
    disks: dict[str, Disk] = {}
    for section, nvme in (("Serial-ATA", False), ("NVMExpress", True)):
        for node in _whole_disks(_section(profile, section)):
            if _text(node.get("Removable Media")) == "Yes" or _text(node.get("Detachable Drive")) == "Yes":
                continue
            name = _text(node.get("BSD Name"))
            size_gb = round(_bytes(node.get("Capacity")) / 1e9, 2)
            disks[name] = Disk(name=name, kind=_disk_kind(node, nvme), size_gb=size_gb)
    if disks:
        return [disks[name] for name in sorted(disks, key=lambda name: int(name[4:]))]
    drives: dict[str, Disk] = {}
    for volume in _section(profile, "Storage").values():
        drive = volume.get("Physical Drive") if isinstance(volume, dict) else None
        if not isinstance(drive, dict) or _text(drive.get("Internal")) != "Yes":
            continue
        protocol = _text(drive.get("Protocol")).lower()
        if protocol in ("disk image", "usb"):
            continue
        name = _text(drive.get("Device Name")) or "disk"
        size_gb = round(_bytes(volume.get("Capacity")) / 1e9, 2)
        kind = _disk_kind(drive, "nvm" in protocol or "pci" in protocol)
        if name not in drives or drives[name].size_gb < size_gb:
            drives[name] = Disk(name=name, kind=kind, size_gb=size_gb)
    return list(drives.values())


def os_name_from(profile: dict[str, Any]) -> str:
    """"macOS 14.5 (23F79)" (SPSoftwareDataType's System Version)."""
    return _text(_section(profile, "Software", "System Software Overview").get("System Version"))


def parse_ioreg(text: str) -> dict[str, str]:
    """The `"key" = value` lines of `ioreg -r` text output (the first object's), values as printed."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _IOREG_VALUE.match(line)
        if match and match.group("key") not in values:
            values[match.group("key")] = match.group("value").strip()
    return values


def ioreg_objects(text: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Each object of `ioreg -r` text output: its name (the `+-o` header's) and its values."""
    headers = list(_IOREG_OBJECT.finditer(text))
    for header, following in zip(headers, [*headers[1:], None]):
        body = text[header.end():following.start() if following else len(text)]
        yield header.group("name"), parse_ioreg(body)


def monitors_from_ioreg(*texts: str) -> list[Monitor]:
    """The displays in the outputs of IOREG_DISPLAYS, each monitor once (by maker and serial)."""
    monitors: list[Monitor] = []
    seen: set[tuple[str, str]] = set()
    for text in texts:
        for name, values in ioreg_objects(text):
            monitor = _monitor(name, values)
            if monitor is None or (monitor.serial and (monitor.maker, monitor.serial) in seen):
                continue
            seen.add((monitor.maker, monitor.serial))
            monitors.append(monitor)
    return monitors


def _monitor(name: str, values: dict[str, str]) -> Monitor | None:
    edid = values.get("IODisplayEDID", "").strip("<>")
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", edid):
        return parse_edid(bytes.fromhex(edid), builtin=name == "AppleBacklightDisplay")
    attributes = values.get("DisplayAttributes", "")
    product = _PRODUCT_ATTRIBUTES.search(attributes)
    builtin = values.get("external") != "Yes"
    if product is None or (not product.group("body") and not builtin):
        return None
    facts = {match.group("key"): match.group("text") if match.group("text") is not None else int(match.group("number"))
             for match in _ATTRIBUTE.finditer(product.group("body"))}
    sizes = dict(re.findall(r'"(MaxHorizontalImageSize|MaxVerticalImageSize)"=(\d+)', attributes))
    width, height = int(sizes.get("MaxHorizontalImageSize", 0)), int(sizes.get("MaxVerticalImageSize", 0))
    serial = facts.get("AlphanumericSerialNumber") or facts.get("SerialNumber") or ""
    year = facts.get("YearOfManufacture")
    return Monitor(
        maker=_text(facts.get("ManufacturerID")),
        model=_text(facts.get("ProductName")),
        serial=f"{serial:08x}" if isinstance(serial, int) else serial,  # a number: as the EDID path writes it
        diagonal_in=round(math.hypot(width, height) / _CM_PER_IN, 1) if width and height else None,
        year=year if isinstance(year, int) and 1990 <= year <= 2100 else None,
        builtin=builtin,
    )


def machine_id_from(ioreg_text: str) -> str:
    """IOPlatformUUID as 32 lower-case hex digits; "" when absent."""
    uuid = parse_ioreg(ioreg_text).get("IOPlatformUUID", "").strip('"').replace("-", "").lower()
    return uuid if re.fullmatch(r"[0-9a-f]{32}", uuid) else ""
