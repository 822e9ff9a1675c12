"""The macOS platform's readers on Linux: sysctl, system_profiler and ioreg outputs recorded
on real Macs (tests/data/macos/README.md says where each comes from), given to the platform in
place of running the commands; the process scan from psutil-shaped processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from fleetprint.agent.config import HostFacts
from fleetprint.agent.inventory import collect_inventory
from fleetprint.agent.platform import Machine, Virtualisation, host_platform
from fleetprint.agent.platform.macos import (
    IOREG_DISPLAYS,
    IOREG_PLATFORM,
    SYSCTL,
    SYSTEM_PROFILER,
    CommandResult,
    MacPlatform,
    disks_from,
    gpus_from,
    kind_of_model,
    machine_from,
    machine_id_from,
    parse_profile,
    parse_sysctl,
    run_command,
    scan_processes,
    virtualisation_from,
)
from fleetprint.agent.service_cpu import ServiceCpu
from fleetprint.agent.services import Classifier, ServiceRule, ServiceSettings
from fleetprint.schema import Cpu, Disk, Gpu, decode_inventory, decode_report

RECORDINGS = Path(__file__).resolve().parent.parent / "data" / "macos" / "glpi"


def recorded(path: str) -> str:
    return (RECORDINGS / path).read_text(encoding="utf-8")


def mac_with(**outputs: str | CommandResult) -> MacPlatform:
    """A Mac whose commands give these outputs (by command name: sysctl, system_profiler,
    ioreg); a command not given fails as one that is not installed."""
    calls: list[tuple[str, ...]] = []

    def run(argv: Sequence[str]) -> CommandResult:
        calls.append(tuple(argv))
        output = outputs.get(argv[0])
        if output is None:
            return CommandResult(error=f"cannot run {argv[0]}: No such file or directory")
        return output if isinstance(output, CommandResult) else CommandResult(text=output)

    platform = MacPlatform(run=run)
    platform.calls = calls  # type: ignore[attr-defined]
    return platform


M1_AIR = {"sysctl": "sysctl/11.0-apple-M1", "system_profiler": "system_profiler/11.0-apple-M1",
          "ioreg": "ioreg/IOPlatformExpertDevice-2"}


def m1_air() -> MacPlatform:
    return mac_with(**{command: recorded(path) for command, path in M1_AIR.items()})


def test_an_apple_silicon_macbook_air_from_its_recordings(monkeypatch: pytest.MonkeyPatch) -> None:
    platform = m1_air()
    monkeypatch.setattr("fleetprint.agent.platform.macos.MacPlatform.has_battery", lambda self: True)
    monkeypatch.setattr("fleetprint.agent.inventory.host_platform", lambda root=None: platform)
    inventory = collect_inventory(HostFacts(), "mac-air")
    assert inventory.cpu == Cpu(model="Apple M1", vendor="Apple", sockets=1, cores=8, threads=8)
    assert (inventory.kind, inventory.vendor, inventory.model) == ("laptop", "Apple", "MacBook Air (MacBookAir10,1)")
    # The APFS volumes of the internal drive, as big as its container; the mounted disk image left out.
    assert inventory.disks == [Disk(name="APPLE SSD AP0512Q", kind="ssd", size_gb=494.38)]
    assert inventory.gpus == [Gpu(model="Apple M1", vendor="Apple")]
    assert inventory.os == "macOS 11.2.3 (20D91)"
    assert inventory.ram_gb == 16.0  # SPHardwareDataType's, as the recording has no hw.memsize
    # Each command ran once for the whole inventory.
    assert sorted(platform.calls) == sorted([SYSCTL, SYSTEM_PROFILER, *IOREG_DISPLAYS])  # type: ignore[attr-defined]


def test_an_intel_imac_with_a_sata_disk_and_an_ati_gpu() -> None:
    platform = mac_with(system_profiler=recorded("system_profiler/10.6-intel"))
    assert platform.machine().kind == "desktop" and platform.machine().model == "iMac (iMac7,1)"
    assert platform.cpu().model == "Intel Core 2 Duo" and platform.cpu().vendor == "Intel"
    assert platform.cpu().cores == 2  # "Total Number Of Cores" (10.6's spelling)
    # disk0 on the SATA bus; the DVD drive is on ATA, the FireWire disk is no internal whole disk.
    assert platform.disks() == [Disk(name="disk0", kind="hdd", size_gb=320.07)]
    assert platform.gpus() == [Gpu(model="ATI,RadeonHD2600", vendor="AMD")]
    assert platform.os_name() == "Mac OS X 10.6.4 (10F569)"
    assert platform.ram_gb() == 2.0


def test_a_mac_mini_leaves_out_its_usb_stick() -> None:
    sysctl = parse_sysctl(recorded("sysctl/10.6-macmini"))
    profile = parse_profile(recorded("system_profiler/10.6-macmini"))
    assert machine_from(sysctl, profile).kind == "desktop"
    assert disks_from(profile) == [Disk(name="disk0", kind="hdd", size_gb=160.04)]
    assert gpus_from(profile) == [Gpu(model="NVIDIA GeForce 9400", vendor="NVIDIA")]
    platform = mac_with(sysctl=recorded("sysctl/10.6-macmini"),
                        system_profiler=recorded("system_profiler/10.6-macmini"))
    # The brand string's padding squeezed; the vendor from machdep.cpu.vendor.
    assert platform.cpu() == Cpu(model="Intel(R) Core(TM)2 Duo CPU P7550 @ 2.26GHz", vendor="Intel",
                                 cores=2, threads=2)


def test_a_macbook_pro_with_two_gpus() -> None:
    profile = parse_profile(recorded("system_profiler/mojave-dual-video-cards"))
    assert gpus_from(profile) == [Gpu(model="Intel HD Graphics 530", vendor="Intel"),
                                  Gpu(model="AMD Radeon Pro 450", vendor="AMD")]


@pytest.mark.parametrize(("name", "identifier", "kind"), [
    ("MacBook Pro", "MacBookPro18,1", "laptop"), ("", "MacBookAir10,1", "laptop"), ("MacBook Air", "Mac14,2", "laptop"),
    ("iMac", "iMac21,1", "desktop"), ("Mac mini", "Macmini9,1", "desktop"), ("Mac Studio", "Mac13,1", "desktop"),
    ("Mac Pro", "MacPro7,1", "desktop"), ("", "Mac14,3", None), ("", "VirtualMac2,1", None),
])
def test_the_kind_from_the_models_name_else_its_identifier(name: str, identifier: str, kind: str | None) -> None:
    assert kind_of_model(name, identifier) == kind


@pytest.mark.parametrize(("hw_model", "vmm", "vm"), [
    ("VMware7,1", "1", "vmware"), ("Parallels-ARM", "1", "parallels"), ("VirtualMac2,1", "1", "apple"),
    ("MacBookPro18,1", "1", "vm"), ("MacBookPro18,1", "0", ""), ("MacBookPro18,1", "", ""),
])
def test_vms_from_hw_model_and_the_hypervisor_flag(hw_model: str, vmm: str, vm: str) -> None:
    assert virtualisation_from({"hw.model": hw_model, "kern.hv_vmm_present": vmm}, {}) == Virtualisation(vm=vm)


def test_a_mac_the_model_does_not_say_is_a_laptop_with_a_battery_else_a_desktop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    platform = mac_with(sysctl="hw.model: Mac15,3\n")
    monkeypatch.setattr("fleetprint.agent.platform.macos.MacPlatform.has_battery", lambda self: True)
    assert platform.machine() == Machine("Apple", "Mac15,3", "laptop")
    monkeypatch.setattr("fleetprint.agent.platform.macos.MacPlatform.has_battery", lambda self: False)
    assert platform.machine() == Machine("Apple", "Mac15,3", "desktop")


def test_a_vm_is_a_vm_in_the_inventory(monkeypatch: pytest.MonkeyPatch) -> None:
    platform = mac_with(sysctl="machdep.cpu.brand_string: Apple M2 (Virtual)\nhw.model: VirtualMac2,1\n"
                              "kern.hv_vmm_present: 1\nhw.memsize: 8589934592\n")
    monkeypatch.setattr("fleetprint.agent.inventory.host_platform", lambda root=None: platform)
    inventory = collect_inventory(HostFacts(), "mac-vm")
    assert (inventory.kind, inventory.vendor, inventory.model) == ("vm", "Apple", "VirtualMac2,1")
    assert inventory.ram_gb == 8.0


def test_the_machine_id_is_the_platform_uuid() -> None:
    assert machine_id_from(recorded("ioreg/IOPlatformExpertDevice-2")) == "ce3a2773af9e515b918b5ee5c09372d7"
    # ioreg -l's whole tree: the first object's (the platform expert's) UUID.
    assert machine_id_from(recorded("ioreg/IOPlatformExpertDevice")) == "00000000000010008000001b633026b1"
    assert machine_id_from("") == ""
    assert m1_air().machine_id() == "ce3a2773af9e515b918b5ee5c09372d7"


def test_missing_and_slow_commands_leave_fields_empty_and_say_why(caplog: pytest.LogCaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    platform = mac_with(system_profiler=CommandResult(error="system_profiler did not answer within 60 s"))
    monkeypatch.setattr("fleetprint.agent.platform.macos.MacPlatform.has_battery", lambda self: False)
    with caplog.at_level(logging.WARNING):
        assert platform.machine() == Machine("Apple", "", "desktop")  # a Mac all the same: no server
        assert (platform.disks(), platform.gpus(), platform.os_name(), platform.machine_id()) == ([], [], "", "")
        assert platform.cpu().model == "Unknown CPU" and platform.cpu().cores >= 1
    assert "inventory: system_profiler: system_profiler did not answer within 60 s: left empty" in caplog.text
    assert "inventory: sysctl: cannot run sysctl: No such file or directory: left empty" in caplog.text
    assert caplog.text.count("system_profiler did not answer") == 1  # asked once


def test_run_command_is_bounded_and_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real processes: one that does not answer in time, one missing, one failing, and a sysctl
    that reads what it knows and fails on a name it does not (machdep.cpu.vendor on Apple silicon)."""
    for name, script in (("system_profiler", "sleep 10"), ("ioreg", "echo 'ioreg: no such class' >&2; exit 1"),
                         ("sysctl", "echo 'hw.model: Mac14,2'; echo \"sysctl: unknown oid 'x'\" >&2; exit 1")):
        (tmp_path / name).write_text(f"#!/bin/sh\n{script}\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    started = time.monotonic()
    assert run_command(SYSTEM_PROFILER, 0.5) == CommandResult(error="system_profiler did not answer within 0.5 s")
    assert time.monotonic() - started < 5
    assert run_command(("no-such-tool-on-a-mac",)).error.startswith("cannot run no-such-tool-on-a-mac: ")
    assert run_command(IOREG_PLATFORM) == CommandResult(error="ioreg exited with 1: ioreg: no such class")
    assert parse_sysctl(run_command(SYSCTL).text) == {"hw.model": "Mac14,2"}


def test_non_ascii_names_and_a_decimal_comma() -> None:
    """The recordings are in French (decimal commas, spaces between thousands, "comprimé"); a
    name in any script survives, an undecodable byte does not stop the parse."""
    profile = parse_profile(recorded("system_profiler/11.0-apple-M1").replace("Chipset Model: Apple M1",
                                                                              "Chipset Model: Apple M1 « Ü 芯片 »"))
    assert gpus_from(profile) == [Gpu(model="Apple M1 « Ü 芯片 »", vendor="Apple")]
    assert disks_from(profile)[0].size_gb == 494.38  # "494,38 GB (494 384 795 648 bytes)"
    assert profile["Storage"]["AnyDesk"]["Physical Drive"]["Media Name"].startswith("Apple format comprimé")
    text = run_result_of(b"      Computer Name: J\xc3\xbcrgens MacBook \xff\n")
    assert text == "      Computer Name: Jürgens MacBook \ufffd\n"


def run_result_of(stdout: bytes) -> str:
    import subprocess
    from unittest import mock

    completed = subprocess.CompletedProcess(["system_profiler"], 0, stdout, b"")
    with mock.patch("subprocess.run", return_value=completed):
        return run_command(SYSTEM_PROFILER).text


def test_the_process_scan_skips_and_counts_what_macos_refuses() -> None:
    def process(pid: int, ppid: int | None, created: float | None, user: float | None) -> SimpleNamespace:
        times = None if user is None else SimpleNamespace(user=user, system=1.0)
        return SimpleNamespace(pid=pid, info={"ppid": ppid, "create_time": created, "cpu_times": times})

    processes = [process(1, 0, 100.0, 2.0), process(88, 1, 200.0, None), process(90, 1, None, 3.0),
                 *(process(1000 + n, 1, 300.0 + n, 0.5) for n in range(2000))]
    times, skipped = scan_processes(iter(processes))
    assert skipped == 2 and len(times) == 2001
    assert (times[0].pid, times[0].own_s, times[0].children_s) == (1, 3.0, 0.0)


def test_the_live_scan_and_facts_through_psutil() -> None:
    """On this Linux machine psutil's process_iter is real: the scan and the facts run."""
    platform = MacPlatform(run=lambda argv: CommandResult(error="not a Mac"))
    times = platform.process_times()
    assert any(entry.pid == os.getpid() for entry in times)
    assert platform.process_facts(os.getpid()).name == psutil.Process().name()  # "python3", or "pytest"
    with pytest.raises(psutil.NoSuchProcess):
        platform.process_facts(2**22 + 7)


def test_facts_macos_refuses_are_left_empty_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another user's process, when the agent does not run as root: psutil raises AccessDenied."""
    class Guarded:
        pid = 412

        def name(self) -> str:
            return "Résumé Helper"

        def exe(self) -> str:
            raise psutil.AccessDenied(412)

        def cmdline(self) -> list[str]:
            raise psutil.AccessDenied(412)

        def username(self) -> str:
            return "jürgen"

    monkeypatch.setattr("fleetprint.agent.platform.macos.psutil.Process", lambda pid: Guarded())
    platform = MacPlatform(run=lambda argv: CommandResult())
    facts = platform.process_facts(412)
    assert (facts.name, facts.exe, facts.cmdline, facts.user) == ("Résumé Helper", "", "", "jürgen")
    assert platform.denied == 1


def test_cpu_per_service_through_the_mac_platform() -> None:
    """The service accounting over MacPlatform's scan and facts (psutil is real here): this
    process's CPU time goes to the service its command line names."""
    classifier = Classifier(ServiceSettings(rule=[ServiceRule(service="tests", cmdline="pytest")]))
    platform = MacPlatform(run=lambda argv: CommandResult(error="not a Mac"))
    service_cpu = ServiceCpu(classifier, platform)
    service_cpu.scan()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert service_cpu.scan().get("tests", 0.0) >= 0.2


def test_a_sleep_is_not_awake_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The awake clock is CLOCK_UPTIME_RAW, which macOS stops while it sleeps (clock_gettime(3));
    its CLOCK_MONOTONIC, which time.monotonic may use, counts the sleep. Here (Linux) the clock's
    id is stood in for; on a Mac it is the real one."""
    if not hasattr(time, "CLOCK_UPTIME_RAW"):
        monkeypatch.setattr(time, "CLOCK_UPTIME_RAW", 8, raising=False)  # its value in macOS's <time.h>
    asked = []
    monkeypatch.setattr(time, "clock_gettime", lambda clock: asked.append(clock) or 1234.5)
    assert MacPlatform.awake_clock() == 1234.5 and asked == [time.CLOCK_UPTIME_RAW]


def test_the_state_directory_is_library_application_support(monkeypatch: pytest.MonkeyPatch) -> None:
    """platformdirs (the agent's dependency off Linux, installed for the tests): the system's
    Application Support, under Homebrew's Python too."""
    pytest.importorskip("platformdirs.macos")
    platform = MacPlatform(run=lambda argv: CommandResult())
    assert platform.state_dir == "/Library/Application Support/fleetprint"
    monkeypatch.setattr("sys.base_prefix", "/opt/homebrew/opt/python@3.13/Frameworks/Python.framework/Versions/3.13")
    assert platform.state_dir == "/Library/Application Support/fleetprint"


def test_agent_once_on_a_recorded_mac(tmp_path: Path) -> None:
    """`fleetprint agent once` as on a Mac: sys.platform is "darwin", and sysctl, system_profiler
    and ioreg are real executables on PATH that print the M1 MacBook Air's recordings. psutil
    stays this machine's (imported before the platform is changed); the awake clock's id, which
    Linux lacks, is stood in for."""
    for command, path in M1_AIR.items():
        (tmp_path / command).write_text(f"#!/bin/sh\ncat '{RECORDINGS / path}'\n")
        (tmp_path / command).chmod(0o755)
    code = ("import psutil, sys, time; sys.platform = 'darwin'; time.CLOCK_UPTIME_RAW = time.CLOCK_MONOTONIC; "
            "sys.argv = ['fleetprint', 'agent', 'once', '--interval', '0.2']; import fleetprint.__main__")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False,
                            env={"PATH": f"{tmp_path}:/usr/bin:/bin", "FLEETPRINT_AGENT_HOST__ID": "mac-042"})
    assert result.returncode == 0, result.stderr
    inventory_line, report_line = result.stdout.strip().splitlines()
    inventory = decode_inventory(inventory_line.encode())
    assert (inventory.kind, inventory.model, inventory.cpu.model, inventory.os) == (
        "laptop", "MacBook Air (MacBookAir10,1)", "Apple M1", "macOS 11.2.3 (20D91)")
    assert (inventory.disks, inventory.gpus) == ([Disk(name="APPLE SSD AP0512Q", kind="ssd", size_gb=494.38)],
                                                 [Gpu(model="Apple M1", vendor="Apple")])
    # This machine's psutil finds no battery: the macOS source, not Linux's, says so.
    assert inventory.power_sources["battery"] == "absent: macOS reports no internal battery"
    assert decode_report(report_line.encode()).samples[0].interval_s > 0.15


def test_darwin_gets_its_own_platform_and_power_sources() -> None:
    from fleetprint.agent.power.registry import SOURCE_TYPES

    assert isinstance(host_platform(system="darwin"), MacPlatform)
    mac = MacPlatform(run=lambda argv: CommandResult())
    assert [(source.name, source.platforms) for source in SOURCE_TYPES if source.runs_on(mac)] == [
        ("nvml", None), ("battery", frozenset({"macos"})), ("ipmi", None), ("redfish", None)]
