"""The Windows platform's readers on Linux: WMI from recordings of real machines
(tests/data/windows/README.md says where each comes from), the registry and the process
scan from values laid out as Windows gives them. What runs only on Windows is run under Wine
in tests/test_windows_wine.py."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import psutil
import pytest

from fleetprint.agent.config import HostFacts
from fleetprint.agent.inventory import collect_inventory, derive_host_id
from fleetprint.agent.platform import Machine, ProcessTimes, Virtualisation, host_platform
from fleetprint.agent.platform.cim import CimQuery, CimResult, decode, powershell_script, read_cim
from fleetprint.agent.platform.windows import (
    CIM_QUERIES,
    WindowsPlatform,
    disks_from,
    gpus_from,
    machine_from,
    os_name_from,
    parse_process_information,
    process_information_entry,
    services_by_pid,
    virtualisation_from,
)
from fleetprint.agent.sampler import UsageSampler
from fleetprint.agent.service_cpu import ServiceCpu
from fleetprint.agent.services import Classifier, ProcessFacts, ServiceRule, ServiceSettings
from fleetprint.schema import Disk, Gpu

RECORDINGS = Path(__file__).resolve().parent.parent / "data" / "windows" / "glpi"

# The CIM type of each property the agent reads, as the classes declare it (Microsoft's docs):
# what ConvertTo-Json writes for the recorded text. Properties not listed are strings.
CIM_TYPES: dict[str, type] = {
    "PCSystemType": int, "HypervisorPresent": bool, "BusType": int, "Size": int, "Index": int, "ChassisTypes": list,
    "CanPool": bool, "SpindleSpeed": int,
}
CIM_TYPES_BY_CLASS = {"MSFT_PhysicalDisk": {"MediaType": int}}  # Win32_DiskDrive's MediaType is a string


def load_wmi(name: str) -> list[dict]:
    """A recording's instances (a port of the GLPI Agent's loadWMIDump), typed as CIM types them."""
    cls = name.rsplit("-", 1)[1]
    types = {**CIM_TYPES, **CIM_TYPES_BY_CLASS.get(cls, {})}
    text = (RECORDINGS / f"{name}.wmi").read_bytes().decode("utf-16-le").lstrip("\ufeff")
    instances, current = [], {}
    for line in text.split("\r\n"):
        if not line.strip():
            if current:
                instances.append(current)
            current = {}
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.isidentifier():
            continue
        kind = types.get(key, str)
        if value == "":
            current[key] = None  # NULL
        elif kind is int:
            current[key] = int(value)
        elif kind is bool:
            current[key] = value == "TRUE"
        elif kind is list or value.startswith("{"):
            items = value.strip("{}").split(",")
            current[key] = [int(item) if item.isdigit() else item.strip('"') for item in items]
        else:
            current[key] = value.replace("&amp;", "&")
    if current:
        instances.append(current)
    return instances


def cim(**recordings: str | list[dict]) -> CimResult:
    """A CimResult with each class from a recording (by name) or given instances."""
    return CimResult(instances={cls: load_wmi(value) if isinstance(value, str) else value
                                for cls, value in recordings.items()})


def test_recordings_decode_as_the_agent_reads_powershells_json() -> None:
    """The recordings, written as ConvertTo-Json would, through the agent's decoder: unchanged."""
    recorded = {"Win32_ComputerSystem": load_wmi("11-AzureAD-Win32_ComputerSystem"),
                "MSFT_PhysicalDisk": load_wmi("latitude-7480-MSFT_PhysicalDisk"),
                "Win32_VideoController": load_wmi("intel+nvidia-Win32_VideoController")}
    text = "\ufeff" + json.dumps(recorded, ensure_ascii=False)  # Windows PowerShell 5.1 may write a BOM
    result = decode(text, CIM_QUERIES)
    assert result.instances == recorded
    assert set(result.errors) == {"Win32_SystemEnclosure", "Win32_Processor", "Win32_DiskDrive", "WmiMonitorID",
                                  "WmiMonitorBasicDisplayParams", "WmiMonitorConnectionParams"}
    assert result.why("Win32_Processor") == "Win32_Processor: missing from PowerShell's output"


def test_a_laptop_from_its_recordings() -> None:
    """A Lenovo ThinkPad (Azure AD joined): no enclosure recorded, PCSystemType 2 says mobile."""
    recorded = cim(Win32_ComputerSystem="11-AzureAD-Win32_ComputerSystem")
    assert machine_from(recorded) == Machine(vendor="LENOVO", model="20TBS57S00", kind="laptop")
    assert virtualisation_from(recorded) == Virtualisation()


def test_the_chassis_type_decides_before_pc_system_type() -> None:
    """ChassisTypes values as SMBIOS defines them (no recording of Win32_SystemEnclosure exists)."""
    system = load_wmi("11-AzureAD-Win32_ComputerSystem")
    for chassis, kind in (([10], "laptop"), ([3], "desktop"), ([23], "server"), ([2, 35], "desktop"), ([2], "laptop")):
        assert machine_from(cim(Win32_ComputerSystem=system, Win32_SystemEnclosure=[{"ChassisTypes": chassis}])).kind \
            == kind, chassis
    assert machine_from(CimResult()) == Machine()


def test_a_proxmox_guest_is_a_vm() -> None:
    recorded = cim(Win32_ComputerSystem="proxmox-Win32_ComputerSystem")
    assert virtualisation_from(recorded).vm == "bochs"
    hyperv = cim(Win32_ComputerSystem=[{"Manufacturer": "Microsoft Corporation", "Model": "Virtual Machine",
                                        "HypervisorPresent": True}])
    assert virtualisation_from(hyperv).vm == "hyperv"
    # Windows 11 with virtualisation-based security: the hypervisor is there, the machine is real.
    surface = cim(Win32_ComputerSystem=[{"Manufacturer": "Microsoft Corporation", "Model": "Surface Laptop 5",
                                         "HypervisorPresent": True}])
    assert virtualisation_from(surface).vm == ""


def test_disks_from_the_storage_classes() -> None:
    assert disks_from(cim(MSFT_PhysicalDisk="latitude-7480-MSFT_PhysicalDisk")) == [
        Disk(name="PHYSICALDRIVE0", kind="nvme", size_gb=512.11)]
    # A VirtualBox guest's disk says neither SSD nor HDD (MediaType 0).
    assert disks_from(cim(MSFT_PhysicalDisk="win10-edu-2020-fr-MSFT_PhysicalDisk")) == [
        Disk(name="PHYSICALDRIVE0", kind="unknown", size_gb=53.69)]
    usb_and_ssd = [{"DeviceId": "1", "MediaType": 4, "BusType": 11, "Size": 256_060_514_304},
                   {"DeviceId": "2", "MediaType": 0, "BusType": 7, "Size": 64_000_000_000}]
    assert disks_from(cim(MSFT_PhysicalDisk=usb_and_ssd)) == [Disk(name="PHYSICALDRIVE1", kind="ssd", size_gb=256.06)]


def test_disks_from_win32_diskdrive_where_the_storage_classes_are_missing() -> None:
    """Windows 7 has no MSFT_PhysicalDisk: Win32_DiskDrive's fixed disks, kind from the model."""
    assert disks_from(cim(Win32_DiskDrive="win7-sp1-x64-Win32_DiskDrive")) == [
        Disk(name="PHYSICALDRIVE0", kind="unknown", size_gb=107.37),
        Disk(name="PHYSICALDRIVE1", kind="unknown", size_gb=0.1)]
    assert disks_from(cim(Win32_DiskDrive="latitude-7480-Win32_DiskDrive")) == [
        Disk(name="PHYSICALDRIVE0", kind="nvme", size_gb=512.11)]


def test_gpus_are_pci_devices_of_gpu_makers() -> None:
    """The RDP session's display adapter is no GPU; Intel's and NVIDIA's are."""
    assert gpus_from(cim(Win32_VideoController="intel+nvidia-Win32_VideoController")) == [
        Gpu(model="Intel(R) HD Graphics 4600", vendor="Intel"), Gpu(model="NVIDIA GeForce GTX 950", vendor="NVIDIA")]
    assert gpus_from(cim(Win32_VideoController="amd-radeon-rx6600xt-Win32_VideoController")) == [
        Gpu(model="AMD Radeon RX 6600 XT", vendor="AMD")]


def test_cpu_from_the_registry_else_win32_processor() -> None:
    registry = {r"HARDWARE\DESCRIPTION\System\CentralProcessor\0": {
        "ProcessorNameString": "Intel(R) Core(TM) i5-7300U CPU @ 2.60GHz ", "VendorIdentifier": "GenuineIntel"}}
    two_sockets = WindowsPlatform(cim=cim(Win32_Processor="2008-with-2-different-cpus-Win32_Processor"),
                                  registry=registry)
    cpu = two_sockets.cpu()
    assert (cpu.model, cpu.vendor, cpu.sockets) == ("Intel(R) Core(TM) i5-7300U CPU @ 2.60GHz", "Intel", 2)
    epyc = WindowsPlatform(cim=cim(Win32_Processor="2019-amd-epyc-Win32_Processor"), registry={}).cpu()
    assert (epyc.model, epyc.vendor, epyc.sockets) == ("AMD EPYC 7302 16-Core Processor", "AMD", 1)


def test_os_name_and_edition() -> None:
    assert os_name_from({"ProductName": "Windows 10 Pro", "DisplayVersion": "23H2", "CurrentBuild": "22631",
                         "UBR": 3155}) == "Windows 11 Pro 23H2, build 22631.3155"
    assert os_name_from({"ProductName": "Windows Server 2019 Standard", "CurrentBuild": "17763"}) == \
        "Windows Server 2019 Standard, build 17763"
    assert os_name_from({}) == "Windows"


def windows_with(cim_result: CimResult, registry: dict | None = None) -> WindowsPlatform:
    return WindowsPlatform(cim=cim_result, registry={
        r"SOFTWARE\Microsoft\Cryptography": {"MachineGuid": "6186c844-c4df-466c-85e6-a0e1b8ca5c68"},
        r"SOFTWARE\Microsoft\Windows NT\CurrentVersion": {"ProductName": "Windows 10 Enterprise",
                                                          "InstallationType": "Client", "CurrentBuild": "19045"},
        **(registry or {})})


def test_inventory_of_a_recorded_windows_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    platform = windows_with(cim(Win32_ComputerSystem="11-AzureAD-Win32_ComputerSystem",
                                MSFT_PhysicalDisk="latitude-7480-MSFT_PhysicalDisk",
                                Win32_VideoController="amd-radeon-rx6600xt-Win32_VideoController"))
    monkeypatch.setattr("fleetprint.agent.inventory.host_platform", lambda root=None: platform)
    host_id = derive_host_id()
    assert host_id.startswith("fp-") and len(host_id) == 19
    inventory = collect_inventory(HostFacts(), host_id)
    assert (inventory.kind, inventory.vendor, inventory.model) == ("laptop", "LENOVO", "20TBS57S00")
    assert inventory.disks == [Disk(name="PHYSICALDRIVE0", kind="nvme", size_gb=512.11)]
    assert inventory.gpus == [Gpu(model="AMD Radeon RX 6600 XT", vendor="AMD")]
    assert inventory.os == "Windows 10 Enterprise, build 19045"


def test_missing_wmi_leaves_fields_empty_and_says_why(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """PowerShell timed out: no maker, disks or GPUs, the edition gives the kind, the log says why."""
    monkeypatch.setattr("fleetprint.agent.platform.windows.read_cim", lambda queries: CimResult(
        errors={query.cls: "PowerShell did not answer within 30 s" for query in queries}))
    monkeypatch.setattr("fleetprint.agent.platform.windows._cim_cache", None)
    platform = WindowsPlatform(registry={r"SOFTWARE\Microsoft\Windows NT\CurrentVersion": {
        "ProductName": "Windows Server 2022 Datacenter", "InstallationType": "Server Core"}})
    monkeypatch.setattr("fleetprint.agent.inventory.host_platform", lambda root=None: platform)
    with caplog.at_level(logging.WARNING):
        inventory = collect_inventory(HostFacts(), "win-server")
    assert (inventory.kind, inventory.vendor, inventory.disks, inventory.gpus) == ("server", "", [], [])
    assert inventory.cpu.model == "Unknown CPU"
    assert "inventory: WMI MSFT_PhysicalDisk: PowerShell did not answer within 30 s: left empty" in caplog.text


def test_a_slow_powershell_is_stopped_at_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real process that does not answer in time (a powershell.exe that sleeps)."""
    fake = tmp_path / "powershell.exe"
    fake.write_text("#!/bin/sh\nsleep 10\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    started = time.monotonic()
    result = read_cim(CIM_QUERIES[:2], timeout_s=0.5)
    assert time.monotonic() - started < 5
    assert result.instances == {}
    assert result.why("Win32_ComputerSystem") == "Win32_ComputerSystem: PowerShell did not answer within 0 s"


def test_powershell_errors_and_odd_output_are_reasons() -> None:
    queries = (CimQuery("MSFT_PhysicalDisk", ("Size",), "root/Microsoft/Windows/Storage"),
               CimQuery("Win32_ComputerSystem", ("Model",)))
    result = decode('{"MSFT_PhysicalDisk":{"error":"Invalid namespace "},"Win32_ComputerSystem":{"Model":"Präzision"}}',
                    queries)
    assert result.why("MSFT_PhysicalDisk") == "MSFT_PhysicalDisk: Invalid namespace"
    assert result.get("Win32_ComputerSystem") == [{"Model": "Präzision"}]  # one instance, not wrapped in a list
    assert decode("", queries).why("Win32_ComputerSystem") == "Win32_ComputerSystem: PowerShell gave no output"
    assert "not JSON" in decode("Get-CimInstance : Zugriff verweigert", queries).why("Win32_ComputerSystem")
    assert decode('{"Win32_ComputerSystem":[]}', queries).why("Win32_ComputerSystem") == \
        "Win32_ComputerSystem: no instance"


def test_numbers_are_culture_invariant_and_text_is_kept() -> None:
    """A German or French Windows writes "2,13" in its own formats; ConvertTo-Json writes numbers
    as JSON does, and text (a CPU name with a decimal comma) passes unchanged."""
    script = powershell_script(CIM_QUERIES)
    assert "ConvertTo-Json" in script and "UTF8Encoding" in script
    assert "Format-List" not in script and "Out-String" not in script  # no culture-formatted text
    queries = (CimQuery("Win32_DiskDrive", ("Size", "Model")),)
    result = decode('{"Win32_DiskDrive":[{"Size":512105932800,"Model":"Disque 2,5 pouces"}]}', queries)
    assert result.get("Win32_DiskDrive") == [{"Size": 512105932800, "Model": "Disque 2,5 pouces"}]


def test_process_scan_parses_the_system_call_and_leaves_out_the_idle_process() -> None:
    entries = [(0, 0, 0.0, 0.0, 9_000.0, ""), (4, 0, 1_700_000_000.0, 0.0, 12.5, "System"),
               (812, 4, 1_700_000_100.25, 1.5, 0.25, "Büro-Tool.exe")]
    address = 0x7FF6_1234_0000
    buffer = b"".join(process_information_entry(pid, ppid, started, user, kernel, next_entry=256 if index < 2 else 0,
                                                name=name, address=address + 256 * index)
                      for index, (pid, ppid, started, user, kernel, name) in enumerate(entries))
    times, names = parse_process_information(buffer, address)
    assert times == [ProcessTimes(4, 0, 1_700_000_000.0, 12.5, 0.0), ProcessTimes(812, 4, 1_700_000_100.25, 1.75, 0.0)]
    assert names == {4: "System", 812: "Büro-Tool.exe"}


class ScriptedWindows(WindowsPlatform):
    """A Windows machine whose process table is a script: 2,000 processes, no real ones."""

    def __init__(self, count: int) -> None:
        super().__init__(cim=CimResult(), registry={})
        self.count = count
        self.cpu_s = 0.0
        self.buffer_calls = 0

    def _system_process_information(self) -> tuple[bytes, int]:
        self.buffer_calls += 1
        return b"".join(process_information_entry(pid, 4, 1_700_000_000.0 + pid, self.cpu_s * (pid % 2), 0.0,
                                                  next_entry=0 if pid == self.count else 160, size=160,
                                                  name=f"p{pid}.exe", address=(pid - 1) * 160)
                        for pid in range(1, self.count + 1)), 0


class ScriptedProcess:
    """psutil.Process for the scripted table: a third of the processes are protected (AccessDenied)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def _protected(self) -> None:
        if self.pid % 3 == 0:
            raise psutil.AccessDenied(self.pid)

    def name(self) -> str:
        return "sqlservr.exe" if self.pid % 2 else "svchost.exe"

    def exe(self) -> str:
        self._protected()
        return f"C:\\Program Files\\Microsoft SQL Server\\{self.name()}"

    def cmdline(self) -> list[str]:
        self._protected()
        return [self.name(), "-k", "netsvcs"]

    def username(self) -> str:
        self._protected()
        return "BÜRO-PC\\jürgen" if self.pid % 5 == 0 else "NT AUTHORITY\\SYSTEM"


def test_two_thousand_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 processes, a third protected: each classified once, the protected ones counted and
    classified from what Windows gives (the name); the scan takes one system call."""
    monkeypatch.setattr("fleetprint.agent.platform.windows.psutil.Process", ScriptedProcess)
    monkeypatch.setattr("fleetprint.agent.platform.windows._live_services",
                        lambda: [("MSSQLSERVER", 1), ("Dnscache", 2), ("LanmanServer", 2), ("Spooler", None)])
    platform = ScriptedWindows(2000)
    classifier = Classifier(ServiceSettings(rule=[
        ServiceRule(service="dns", windows_service="Dnscache"),
        ServiceRule(service="sql", exe="sqlservr"),
        ServiceRule(service="office", user="jürgen"),
    ]))
    started = time.perf_counter()
    service_cpu = ServiceCpu(classifier, platform)
    platform.cpu_s = 3.0
    seconds = service_cpu.scan()
    elapsed = time.perf_counter() - started
    assert platform.buffer_calls == 2
    assert seconds == {"sql": 3.0 * 1000}  # the odd pids (sqlservr.exe) used 3 s each
    assert platform.denied == 666
    assert elapsed < 5
    facts = platform.process_facts(10)
    assert facts.user == "BÜRO-PC\\jürgen" and classifier.service_of(facts) == "office"
    assert classifier.service_of(platform.process_facts(2)) == "dns"


def test_services_by_pid_and_windows_rules() -> None:
    assert services_by_pid([("b", 7), ("a", 7), ("stopped", None), ("c", 9)]) == {7: ("a", "b"), 9: ("c",)}
    classifier = Classifier(ServiceSettings(rule=[ServiceRule(service="sql", windows_service="MSSQL*"),
                                                  ServiceRule(service="iis", exe="w3wp"),
                                                  ServiceRule(service="desk", user="jürgen")]))
    svchost = ProcessFacts("svchost.exe", r"C:\Windows\System32\svchost.exe", "svchost.exe -k", "NT AUTHORITY\\SYSTEM",
                           "", windows_services=("MSSQL$EXPRESS",))
    assert classifier.service_of(svchost) == "sql"
    w3wp = ProcessFacts("w3wp.exe", r"c:\windows\system32\inetsrv\w3wp.exe", "", "IIS APPPOOL\\Default", "")
    assert classifier.service_of(w3wp) == "iis"
    assert classifier.service_of(ProcessFacts("excel.exe", "", "", "BÜRO\\jürgen", "")) == "desk"
    assert classifier.service_of(ProcessFacts("excel.exe", "", "", "BÜRO\\jürgenx", "")) == "other"


def test_windows_rules_ignore_case() -> None:
    """Windows' file, user and service names ignore case: so do the rules on its platform, and
    only there."""
    settings = ServiceSettings(rule=[ServiceRule(service="sql", windows_service="mssql*"),
                                     ServiceRule(service="iis", exe="W3WP"),
                                     ServiceRule(service="erp", cmdline=r"\\Program Files\\SAP\\"),
                                     ServiceRule(service="desk", user="JÜRGEN")])
    processes = {
        "sql": ProcessFacts("sqlservr.exe", "", "", "", "", windows_services=("MSSQL$EXPRESS",)),
        "iis": ProcessFacts("w3wp.exe", r"C:\Windows\System32\inetsrv\w3wp.exe", "", "", ""),
        "erp": ProcessFacts("disp+work.exe", "", r"C:\PROGRAM FILES\sap\disp+work.exe pf=X", "", ""),
        "desk": ProcessFacts("excel.exe", "", "", "BÜRO\\jürgen", ""),
    }
    windows = Classifier(settings, ignore_case=WindowsPlatform.names_ignore_case)
    assert {service: windows.service_of(facts) for service, facts in processes.items()} == {
        service: service for service in processes}
    linux = Classifier(settings, ignore_case=host_platform(system="linux").names_ignore_case)
    assert {linux.service_of(facts) for facts in processes.values()} == {"other"}


def test_a_laptop_that_slept_bills_only_its_awake_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sample spanning a sleep covers the awake time the platform's clock counts (on Windows
    QueryUnbiasedInterruptTime, on Linux CLOCK_MONOTONIC: both stop while the machine sleeps)."""
    awake = iter([1000.0, 1030.0, 1060.0])
    sampler = UsageSampler(clock=lambda: next(awake))
    assert sampler.take().interval_s == 30.0  # 30 s awake, whatever the hours asleep meanwhile
    assert sampler.take().interval_s == 30.0


def test_windows_gets_its_own_platform_and_power_sources() -> None:
    from fleetprint.agent.power.registry import SOURCE_TYPES

    assert isinstance(host_platform(system="win32"), WindowsPlatform)
    windows = WindowsPlatform(cim=CimResult(), registry={})
    assert [(source.name, source.platforms) for source in SOURCE_TYPES if source.runs_on(windows)] == [
        ("nvml", None), ("battery", frozenset({"windows"})), ("ipmi", None), ("redfish", None)]
