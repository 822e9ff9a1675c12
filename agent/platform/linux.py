"""Linux: the readers of /proc and /sys under the root (agent/sources), one per method."""

from __future__ import annotations

from functools import cached_property

import psutil

from fleetprint.agent.platform import Machine, Platform, ProcessTimes, Virtualisation
from fleetprint.agent.services import ProcessFacts
from fleetprint.agent.sources import (
    battery,
    block,
    cpuinfo,
    displays,
    dmi,
    gpu,
    identity,
    meminfo,
    os_release,
    processes,
    read_attr,
    virt,
)
from fleetprint.schema import Cpu, Disk, Gpu, Monitor


class LinuxPlatform(Platform):
    name = "linux"
    state_dir = "/var/lib/fleetprint-agent"

    def cpu(self) -> Cpu:
        return cpuinfo.read_cpu(self.root)

    def machine(self) -> Machine:
        firmware = dmi.read_dmi(self.root)
        model = firmware.product or read_attr(self.root / "proc/device-tree/model")  # ARM boards have no DMI
        return Machine(vendor=firmware.vendor, model=model, kind=firmware.machine_kind)

    def ram_gb(self) -> float:
        return meminfo.read_ram_gb(self.root)

    def disks(self) -> list[Disk]:
        return block.read_disks(self.root)

    def gpus(self) -> list[Gpu]:
        return gpu.read_gpus(self.root)

    def virtualisation(self) -> Virtualisation:
        return virt.detect_virtualisation(self.root)

    def monitors(self) -> list[Monitor]:
        return displays.read_monitors(self.root)

    def has_battery(self) -> bool:
        return battery.has_battery(self.root)

    def process_times(self) -> list[ProcessTimes]:
        return processes.read_process_times(self.root, self._boot_time)

    @cached_property
    def _boot_time(self) -> float:
        return processes.read_boot_time(self.root)

    def process_facts(self, pid: int) -> ProcessFacts:
        return processes.process_facts(psutil.Process(pid), self.root)

    def os_name(self) -> str:
        return os_release.read_os_name(self.root)

    def machine_id(self) -> str:
        return identity.read_machine_id(self.root)

    def hostname(self) -> str:
        return identity.read_hostname(self.root)
