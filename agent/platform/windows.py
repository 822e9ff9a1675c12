"""Windows 10/11 and Windows Server: the registry, WMI (through PowerShell, `cim`) and psutil.

What is read where:
- the registry (winreg, cheap): the CPU's model and vendor (HARDWARE\\DESCRIPTION\\System\\
  CentralProcessor\\0), the OS's name (SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion), the
  installation's id (MachineGuid in SOFTWARE\\Microsoft\\Cryptography);
- WMI, once per inventory in one PowerShell run (`cim.read_cim`): maker, model and
  `PCSystemType` (Win32_ComputerSystem), the chassis type (Win32_SystemEnclosure.ChassisTypes),
  the sockets (Win32_Processor), the disks (MSFT_PhysicalDisk's MediaType and BusType for SSD,
  HDD or NVMe; Win32_DiskDrive where the Storage classes are missing), the GPUs
  (Win32_VideoController's PCI vendor). A class that cannot be read leaves its fields empty,
  and the inventory's log says which and why;
- psutil: counts of cores and threads, memory, the battery's presence, and what the service
  rules look at (name, executable, command line, user; the Windows services a process hosts);
- the monitors, in the same PowerShell run: root/wmi WmiMonitorID (what the monitor's EDID says:
  maker's PNP id, name, serial, year), WmiMonitorBasicDisplayParams (the image's size in cm)
  and WmiMonitorConnectionParams (an embedded connector: a laptop's own panel); only the
  monitors WMI marks `Active` (Windows keeps the ones unplugged since);
- the process scan at every sample: one NtQuerySystemInformation call (ctypes), which gives
  every process's parent, start time and CPU times without opening any process, so protected
  processes are counted too, at the cost of one system call (psutil would open each process,
  and take a whole system snapshot for each one it may not open).

The parsing is pure Python over the values the OS gives, so tests run it on Linux from
recordings of real machines (tests/data/windows/).
"""

from __future__ import annotations

import logging
import math
import re
import socket
import struct
import time
from typing import Any

import psutil

from fleetprint.agent.platform import Machine, Platform, ProcessTimes, Virtualisation, psutil_facts
from fleetprint.agent.platform.cim import CimQuery, CimResult, Instance, read_cim
from fleetprint.agent.services import ProcessFacts
from fleetprint.agent.sources.dmi import Dmi, firmware_text
from fleetprint.schema import Cpu, Disk, DiskKind, Gpu, MachineKind, Monitor

log = logging.getLogger(__name__)

CIM_QUERIES = (
    CimQuery("Win32_ComputerSystem", ("Manufacturer", "Model", "PCSystemType", "HypervisorPresent")),
    CimQuery("Win32_SystemEnclosure", ("ChassisTypes",)),
    CimQuery("Win32_Processor", ("Name", "Manufacturer", "SocketDesignation")),
    CimQuery("MSFT_PhysicalDisk", ("DeviceId", "FriendlyName", "MediaType", "BusType", "Size"),
             namespace="root/Microsoft/Windows/Storage"),
    CimQuery("Win32_DiskDrive", ("Index", "Model", "MediaType", "InterfaceType", "Size")),
    CimQuery("Win32_VideoController", ("Name", "PNPDeviceID")),
    CimQuery("WmiMonitorID", ("InstanceName", "Active", "ManufacturerName", "UserFriendlyName", "ProductCodeID",
                              "SerialNumberID", "YearOfManufacture"), namespace="root/wmi"),
    CimQuery("WmiMonitorBasicDisplayParams", ("InstanceName", "MaxHorizontalImageSize", "MaxVerticalImageSize"),
             namespace="root/wmi"),
    CimQuery("WmiMonitorConnectionParams", ("InstanceName", "VideoOutputTechnology"), namespace="root/wmi"),
)

_CPU_KEY = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
_OS_KEY = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
_CRYPTOGRAPHY_KEY = r"SOFTWARE\Microsoft\Cryptography"
_X86_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon"}
_FIRST_WINDOWS_11_BUILD = 22000  # Windows 11 still says "Windows 10" in ProductName

# Win32_ComputerSystem.PCSystemType, when the enclosure says nothing useful.
_PC_SYSTEM_KINDS: dict[int, MachineKind] = {1: "desktop", 2: "laptop", 3: "desktop", 4: "server", 5: "server",
                                            7: "server", 8: "laptop"}
# MSFT_PhysicalDisk.MediaType and BusType.
_MEDIA_KINDS: dict[int, DiskKind] = {3: "hdd", 4: "ssd", 5: "ssd"}  # 5: storage-class memory
_BUS_NVME = 17
_BUS_SKIPPED = {7, 12, 15}  # USB (removable), SD cards, file-backed virtual disks (a VHD counts its host's disk)
_GPU_VENDORS = {"10DE": "NVIDIA", "1002": "AMD", "8086": "Intel"}  # PCI vendor ids, as Linux's gpu reader
# WmiMonitorConnectionParams.VideoOutputTechnology (D3DKMDT_VIDEO_OUTPUT_TECHNOLOGY) of the
# connectors inside the machine: LVDS, embedded DisplayPort, embedded UDI, "internal".
_EMBEDDED_OUTPUTS = {6, 11, 13, 0x80000000}
_CM_PER_IN = 2.54
_PCI_VENDOR = re.compile(r"^PCI\\VEN_([0-9A-F]{4})", re.IGNORECASE)

# NtQuerySystemInformation(SystemProcessInformation), 64-bit SYSTEM_PROCESS_INFORMATION (winternl.h):
# NextEntryOffset, then CreateTime, UserTime, KernelTime (100 ns units, FILETIME for CreateTime),
# ImageName (a UNICODE_STRING: length in bytes, and the address of its text, which lies in the same
# buffer), UniqueProcessId and InheritedFromUniqueProcessId.
_SYSTEM_PROCESS_INFORMATION = 5
_STATUS_INFO_LENGTH_MISMATCH = 0xC0000004
_ENTRY = struct.Struct("<I28xqqqH6xQ8xQQ")  # offsets 0, 32, 40, 48, 56, 64, 80, 88
_FILETIME_EPOCH_S = 11_644_473_600  # 1601-01-01 to 1970-01-01
_TICKS_PER_S = 10_000_000
_SERVICES_MAX_AGE_S = 30.0
# One WMI read serves every platform object made within this time (the inventory and the
# power sources' checks at start), so PowerShell runs once, not once per reader.
_CIM_REUSE_S = 60.0
_cim_cache: tuple[float, CimResult] | None = None


class WindowsPlatform(Platform):
    name = "windows"
    names_ignore_case = True

    def __init__(self, root=None, cim: CimResult | None = None, registry: dict[str, dict[str, Any]] | None = None):
        from fleetprint.agent.platform import LIVE_ROOT

        super().__init__(root or LIVE_ROOT)
        self._cim = cim  # given by tests (a recorded machine); read on first use otherwise
        self._registry = registry  # {key path: {value name: value}}, likewise
        self.denied = 0  # processes whose facts the OS would not give in full (AccessDenied)
        self._services: dict[int, tuple[str, ...]] = {}
        self._services_at = -_SERVICES_MAX_AGE_S
        self._names: dict[int, str] = {}  # each process's image name, from the last scan
        self._buffer_size = 256 * 1024

    @property
    def state_dir(self) -> str:  # type: ignore[override]
        """%ProgramData%\\fleetprint, as platformdirs says (the known folder, not a spelt-out path)."""
        import platformdirs

        return platformdirs.site_data_dir("fleetprint", appauthor=False)

    # -- what is read once per inventory

    @property
    def wmi(self) -> CimResult:
        global _cim_cache
        if self._cim is None:
            if _cim_cache is not None and time.monotonic() - _cim_cache[0] < _CIM_REUSE_S:
                self._cim = _cim_cache[1]
                return self._cim
            started = time.monotonic()
            self._cim = read_cim(CIM_QUERIES)
            _cim_cache = (time.monotonic(), self._cim)
            log.debug("WMI read in %.1f s", time.monotonic() - started)
            for query in CIM_QUERIES:
                if query.cls not in self._cim.instances:
                    log.warning("inventory: WMI %s: left empty", self._cim.why(query.cls))
        return self._cim

    def registry_value(self, key: str, name: str) -> Any:
        """A value under HKEY_LOCAL_MACHINE\\`key`, None when absent."""
        if self._registry is not None:
            return self._registry.get(key, {}).get(name)
        try:
            import winreg
        except ImportError:  # not Windows
            return None
        try:
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key) as handle:
                return winreg.QueryValueEx(handle, name)[0]
        except OSError:
            return None

    def cpu(self) -> Cpu:
        model = _text(self.registry_value(_CPU_KEY, "ProcessorNameString"))
        vendor = _text(self.registry_value(_CPU_KEY, "VendorIdentifier"))
        processors = self.wmi.get("Win32_Processor")
        if not model and processors:
            model = _text(processors[0].get("Name"))
        if not vendor and processors:
            vendor = _text(processors[0].get("Manufacturer"))
        threads = psutil.cpu_count() or 1
        cores = psutil.cpu_count(logical=False) or threads
        return Cpu(model=model or "Unknown CPU", vendor=_X86_VENDORS.get(vendor, vendor),
                   sockets=max(1, min(len(processors), 64)), cores=cores, threads=threads)

    def machine(self) -> Machine:
        machine = machine_from(self.wmi)
        if machine.kind is None:  # no chassis type: the edition says workstation or server
            machine = Machine(machine.vendor, machine.model, kind_of_edition(
                {name: self.registry_value(_OS_KEY, name) for name in ("InstallationType", "ProductName")}))
        return machine

    def ram_gb(self) -> float:
        return round(psutil.virtual_memory().total / 2**30, 2)

    def disks(self) -> list[Disk]:
        return disks_from(self.wmi)

    def gpus(self) -> list[Gpu]:
        return gpus_from(self.wmi)

    def virtualisation(self) -> Virtualisation:
        return virtualisation_from(self.wmi)

    def monitors(self) -> list[Monitor]:
        return monitors_from(self.wmi)

    def has_battery(self) -> bool:
        try:
            return psutil.sensors_battery() is not None  # GetSystemPowerStatus: no system battery -> None
        except (OSError, RuntimeError):
            return False

    def os_name(self) -> str:
        return os_name_from({name: self.registry_value(_OS_KEY, name)
                             for name in ("ProductName", "DisplayVersion", "CurrentBuild", "UBR")})

    def machine_id(self) -> str:
        return _text(self.registry_value(_CRYPTOGRAPHY_KEY, "MachineGuid")).replace("-", "").lower()

    def hostname(self) -> str:
        return socket.gethostname()

    @staticmethod
    def awake_clock() -> float:
        return awake_seconds()

    # -- the process scan, at every sample

    def process_times(self) -> list[ProcessTimes]:
        times, self._names = parse_process_information(*self._system_process_information())
        return times

    def _system_process_information(self) -> tuple[bytes, int]:
        """The SystemProcessInformation buffer, and the address it was at (its names point into it)."""
        import ctypes

        ntdll = ctypes.WinDLL("ntdll")  # type: ignore[attr-defined]
        ntdll.NtQuerySystemInformation.restype = ctypes.c_long
        needed = ctypes.c_ulong(0)
        for _ in range(8):  # processes start between the calls: grow and try again
            buffer = ctypes.create_string_buffer(self._buffer_size)
            status = ntdll.NtQuerySystemInformation(_SYSTEM_PROCESS_INFORMATION, buffer, self._buffer_size,
                                                    ctypes.byref(needed)) & 0xFFFFFFFF
            if status == 0:
                return buffer.raw[:needed.value or self._buffer_size], ctypes.addressof(buffer)
            if status != _STATUS_INFO_LENGTH_MISMATCH:
                raise OSError(f"NtQuerySystemInformation failed: NTSTATUS {status:#010x}")
            self._buffer_size = max(self._buffer_size * 2, needed.value + 64 * 1024)
        raise OSError("NtQuerySystemInformation: the process list kept growing")

    def process_facts(self, pid: int) -> ProcessFacts:
        # Windows gives the image name of every process in the scan; psutil derives it from
        # the executable's path, which a protected process does not give.
        facts, denied = psutil_facts(psutil.Process(pid), self._names.get(pid, ""), self._services_of(pid))
        if denied:
            self.denied += 1
            log.debug("process %d (%s): some facts denied", pid, facts.name)
        return facts

    def _services_of(self, pid: int) -> tuple[str, ...]:
        """The Windows services process `pid` runs (svchost.exe runs several)."""
        if time.monotonic() - self._services_at > _SERVICES_MAX_AGE_S:
            self._services = services_by_pid(_live_services())
            self._services_at = time.monotonic()
        return self._services.get(pid, ())


def _live_services() -> list[tuple[str, int | None]]:
    services = []
    try:
        for service in psutil.win_service_iter():  # type: ignore[attr-defined]
            try:
                services.append((service.name(), service.pid()))
            except (psutil.Error, OSError):  # removed meanwhile, or not ours to query
                continue
    except (AttributeError, OSError, psutil.Error):  # not Windows, or the service manager refused
        return []
    return services


def services_by_pid(services: list[tuple[str, int | None]]) -> dict[int, tuple[str, ...]]:
    """{pid: the names of the running services it hosts}, from (name, pid or None) pairs."""
    by_pid: dict[int, list[str]] = {}
    for name, pid in services:
        if pid:
            by_pid.setdefault(pid, []).append(name)
    return {pid: tuple(sorted(names)) for pid, names in by_pid.items()}


def parse_process_information(buffer: bytes, address: int) -> tuple[list[ProcessTimes], dict[int, str]]:
    """Every process in a SystemProcessInformation buffer that was at `address`, and each one's
    image name, but the idle process (pid 0, whose "CPU time" is the machine's idle time).
    Windows does not count reaped children's time."""
    times, names = [], {}
    offset = 0
    while offset + _ENTRY.size <= len(buffer):
        next_entry, created, user, kernel, name_bytes, name_at, pid, ppid = _ENTRY.unpack_from(buffer, offset)
        if pid:
            times.append(ProcessTimes(pid, ppid, created / _TICKS_PER_S - _FILETIME_EPOCH_S,
                                      (user + kernel) / _TICKS_PER_S, 0.0))
            start = name_at - address
            if name_at and 0 <= start and start + name_bytes <= len(buffer):
                names[pid] = buffer[start:start + name_bytes].decode("utf-16-le", errors="replace")
        if not next_entry:
            break
        offset += next_entry
    return times, names


def process_information_entry(pid: int, ppid: int, started: float, user_s: float, kernel_s: float,
                              next_entry: int = 0, size: int = 256, name: str = "", address: int = 0) -> bytes:
    """One SYSTEM_PROCESS_INFORMATION entry as Windows lays it out, at `address` (tests build
    scans with it); its name follows the fixed fields."""
    encoded = name.encode("utf-16-le")
    entry = bytearray(max(size, _ENTRY.size + len(encoded)))
    created = round((started + _FILETIME_EPOCH_S) * _TICKS_PER_S)
    _ENTRY.pack_into(entry, 0, next_entry, created, round(user_s * _TICKS_PER_S), round(kernel_s * _TICKS_PER_S),
                     len(encoded), address + _ENTRY.size if encoded else 0, pid, ppid)
    entry[_ENTRY.size:_ENTRY.size + len(encoded)] = encoded
    return bytes(entry)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _first(cim: CimResult, cls: str) -> Instance:
    instances = cim.get(cls)
    return instances[0] if instances else {}


def _dmi(cim: CimResult) -> Dmi:
    system = _first(cim, "Win32_ComputerSystem")
    chassis = _first(cim, "Win32_SystemEnclosure").get("ChassisTypes")
    types = [value for value in (chassis if isinstance(chassis, list) else [chassis]) if _int(value) is not None]
    known = [int(value) for value in types if Dmi(chassis_type=int(value)).machine_kind]
    return Dmi(vendor=firmware_text(_text(system.get("Manufacturer"))),
               product=firmware_text(_text(system.get("Model"))),
               chassis_type=known[0] if known else (int(types[0]) if types else None))


def machine_from(cim: CimResult) -> Machine:
    """Maker and model (Win32_ComputerSystem) and the kind the chassis says (Win32_SystemEnclosure),
    else the kind Windows was told at setup (PCSystemType)."""
    dmi = _dmi(cim)
    kind = dmi.machine_kind
    if kind is None:
        kind = _PC_SYSTEM_KINDS.get(_int(_first(cim, "Win32_ComputerSystem").get("PCSystemType")) or 0)
    return Machine(vendor=dmi.vendor, model=dmi.product, kind=kind)


def kind_of_edition(values: dict[str, Any]) -> MachineKind | None:
    """"server" for Windows Server, "desktop" for a client edition (InstallationType, else the
    product's name), None when neither says."""
    installation = _text(values.get("InstallationType")).lower()
    if installation:
        return "server" if installation.startswith("server") else "desktop"
    product = _text(values.get("ProductName"))
    if not product:
        return None
    return "server" if "server" in product.lower() else "desktop"


def virtualisation_from(cim: CimResult) -> Virtualisation:
    """The hypervisor the maker and model strings name (as DMI on Linux: "Microsoft Corporation"
    "Virtual Machine" is Hyper-V, "QEMU", "VMware, Inc.", ...). HypervisorPresent alone is no
    VM: Windows 11 with virtualisation-based security runs on Hyper-V on bare metal."""
    return Virtualisation(vm=_dmi(cim).vm_name)


def disks_from(cim: CimResult) -> list[Disk]:
    """The disks from MSFT_PhysicalDisk (SSD, HDD or NVMe), else Win32_DiskDrive's fixed disks
    (NVMe when the model or interface says so, else unknown). USB and SD media and file-backed
    virtual disks are left out, as Linux's reader leaves out removable and loop devices."""
    physical = cim.get("MSFT_PhysicalDisk")
    if physical:
        disks = []
        for disk in sorted(physical, key=lambda item: _int(item.get("DeviceId")) or 0):
            size = _int(disk.get("Size")) or 0
            bus = _int(disk.get("BusType"))
            if size == 0 or bus in _BUS_SKIPPED:
                continue
            kind = "nvme" if bus == _BUS_NVME else _MEDIA_KINDS.get(_int(disk.get("MediaType")) or 0, "unknown")
            disks.append(Disk(name=f"PHYSICALDRIVE{_text(str(disk.get('DeviceId', '')))}", kind=kind,
                              size_gb=round(size / 1e9, 2)))
        return disks
    disks = []
    for drive in sorted(cim.get("Win32_DiskDrive"), key=lambda item: _int(item.get("Index")) or 0):
        size = _int(drive.get("Size")) or 0
        if size == 0 or _text(drive.get("MediaType")) != "Fixed hard disk media":
            continue
        described = f"{_text(drive.get('Model'))} {_text(drive.get('InterfaceType'))}".lower()
        kind: DiskKind = "nvme" if "nvme" in described else ("ssd" if "ssd" in described else "unknown")
        name = f"PHYSICALDRIVE{_int(drive.get('Index')) or 0}"
        disks.append(Disk(name=name, kind=kind, size_gb=round(size / 1e9, 2)))
    return disks


def gpus_from(cim: CimResult) -> list[Gpu]:
    """The GPUs among the video controllers: PCI devices of a GPU maker (not a remote desktop's
    or a VM's display adapter, nor Windows' basic display driver)."""
    gpus = []
    for controller in cim.get("Win32_VideoController"):
        match = _PCI_VENDOR.match(_text(controller.get("PNPDeviceID")))
        vendor = _GPU_VENDORS.get(match.group(1).upper()) if match else None
        if vendor is not None:
            gpus.append(Gpu(model=_text(controller.get("Name")) or f"{vendor} GPU", vendor=vendor))
    return gpus


def monitors_from(cim: CimResult) -> list[Monitor]:
    """The active monitors WMI knows, with their size and whether they are the machine's own panel."""
    sizes = {_text(params.get("InstanceName")): params for params in cim.get("WmiMonitorBasicDisplayParams")}
    outputs = {_text(params.get("InstanceName")): _int(params.get("VideoOutputTechnology"))
               for params in cim.get("WmiMonitorConnectionParams")}
    monitors = []
    for monitor in cim.get("WmiMonitorID"):
        if monitor.get("Active") is False:
            continue
        instance = _text(monitor.get("InstanceName"))
        size = sizes.get(instance, {})
        width, height = _int(size.get("MaxHorizontalImageSize")) or 0, _int(size.get("MaxVerticalImageSize")) or 0
        year = _int(monitor.get("YearOfManufacture"))
        serial = _wmi_text(monitor.get("SerialNumberID"))
        monitors.append(Monitor(
            maker=_wmi_text(monitor.get("ManufacturerName")),
            model=_wmi_text(monitor.get("UserFriendlyName")) or _wmi_text(monitor.get("ProductCodeID")),
            serial=serial if serial.strip("0") else "",  # "0": the EDID gave none
            diagonal_in=round(math.hypot(width, height) / _CM_PER_IN, 1) if width and height else None,
            year=year if year is not None and 1990 <= year <= 2100 else None,
            builtin=outputs.get(instance) in _EMBEDDED_OUTPUTS,
        ))
    return monitors


def _wmi_text(codes: Any) -> str:
    """A WmiMonitorID string: an array of character codes, padded with zeros."""
    if not isinstance(codes, list):
        return ""
    return "".join(chr(code) for code in codes if isinstance(code, int) and 0x20 <= code < 0x7F).strip()


def os_name_from(values: dict[str, Any]) -> str:
    """"Windows 11 Pro 23H2, build 22631.3155" from the CurrentVersion key's values."""
    product = _text(values.get("ProductName")).removeprefix("Microsoft ")
    build = _text(values.get("CurrentBuild"))
    if build.isdigit() and int(build) >= _FIRST_WINDOWS_11_BUILD:
        product = product.replace("Windows 10", "Windows 11")
    release = _text(values.get("DisplayVersion"))
    revision = _int(values.get("UBR"))
    name = " ".join(part for part in (product or "Windows", release) if part)
    if build:
        name += f", build {build}" + (f".{revision}" if revision is not None else "")
    return name


def awake_seconds() -> float:
    """Seconds the machine has been awake since it started: QueryUnbiasedInterruptTime, which
    leaves out sleep and hibernation (time.monotonic, QueryPerformanceCounter since Python 3.13,
    is not documented to)."""
    import ctypes

    ticks = ctypes.c_ulonglong(0)
    ctypes.windll.kernel32.QueryUnbiasedInterruptTime(ctypes.byref(ticks))  # type: ignore[attr-defined]
    return ticks.value / _TICKS_PER_S
