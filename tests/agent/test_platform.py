"""The platform layer (agent/platform): which implementation an OS gets, the Linux readers against
psutil on this machine, and the process accounting (agent/service_cpu.py) through the interface."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from fleetprint.agent.config import AgentConfig
from fleetprint.agent.platform import Machine, ProcessTimes, host_platform
from fleetprint.agent.platform.linux import LinuxPlatform
from fleetprint.agent.service_cpu import ServiceCpu
from fleetprint.agent.services import Classifier, ProcessFacts, ServiceRule, ServiceSettings

HOSTS = Path(__file__).resolve().parent.parent / "data" / "hosts"


@pytest.mark.parametrize("system", ["linux", "freebsd14"])
def test_each_os_gets_its_readers_and_others_the_linux_ones(system: str) -> None:
    platform = host_platform(HOSTS / "kvm-vm", system)
    assert isinstance(platform, LinuxPlatform) and platform.root == HOSTS / "kvm-vm"
    assert type(host_platform(HOSTS / "kvm-vm", "win32")).__name__ == "WindowsPlatform"  # tests/agent/test_windows_*
    assert type(host_platform(HOSTS / "kvm-vm", "darwin")).__name__ == "MacPlatform"  # tests/agent/test_macos_*


def test_the_machine_as_the_firmware_or_the_device_tree_names_it() -> None:
    assert host_platform(HOSTS / "xeon-rack-server").machine() == Machine("Dell Inc.", "PowerEdge R640", "server")
    assert host_platform(HOSTS / "arm-board").machine() == Machine(model="Raspberry Pi 4 Model B Rev 1.4")


def test_the_state_dir_defaults_to_the_platforms() -> None:
    assert LinuxPlatform.state_dir == "/var/lib/fleetprint-agent"
    assert AgentConfig().state_dir == "/var/lib/fleetprint-agent"


def test_linux_process_times_agree_with_psutil() -> None:
    """The direct /proc/PID/stat read gives what psutil gives for the same process."""
    me = psutil.Process()
    before = me.cpu_times()
    times = {process.pid: process for process in host_platform().process_times()}
    after = me.cpu_times()
    mine = times[os.getpid()]
    assert mine.ppid == os.getppid()
    assert mine.started == pytest.approx(me.create_time(), abs=0.01)
    assert before.user + before.system - 0.01 <= mine.own_s <= after.user + after.system + 0.01
    assert mine.children_s == pytest.approx(before.children_user + before.children_system, abs=0.01)
    assert len(times) > 1


class Scripted(LinuxPlatform):
    """A platform whose process table is given scan by scan."""

    def __init__(self, scans: list[list[ProcessTimes]], names: dict[int, str]) -> None:
        super().__init__()
        self._scans: Iterator[list[ProcessTimes]] = iter(scans)
        self._names = names

    def process_times(self) -> list[ProcessTimes]:
        return next(self._scans)

    def process_facts(self, pid: int) -> ProcessFacts:
        if pid not in self._names:
            raise psutil.NoSuchProcess(pid)
        return ProcessFacts(name=self._names[pid], exe="", cmdline="", user="", cgroup="")


def test_service_cpu_counts_deltas_reaped_children_and_pid_reuse() -> None:
    """The accounting every platform shares, on a scripted process table (times in seconds)."""
    long_ago = 1.0  # started before the agent: counts from the first scan on
    scans = [
        [ProcessTimes(10, 1, long_ago, 5.0, 0.0), ProcessTimes(20, 1, long_ago, 1.0, 0.0)],
        # 10 used 2 s; its child 30 started and ended unseen, reaped with 0.5 s.
        [ProcessTimes(10, 1, long_ago, 7.0, 0.5), ProcessTimes(20, 1, long_ago, 1.0, 0.0)],
        # 20 ended; pid 20 is now a new process (another start time) born since the last scan.
        [ProcessTimes(10, 1, long_ago, 7.0, 0.5), ProcessTimes(20, 10, 4e9, 0.25, 0.0)],
        # The new 20 ended and was reaped by 10 in the same interval: 10's children time grows
        # before the scan knows 20 is gone, so the growth counts now and is taken off later growth.
        [ProcessTimes(10, 1, long_ago, 7.0, 0.75)],
        # Another unseen child of 10 reaped with 0.25 s: the credit for 20 takes it off.
        [ProcessTimes(10, 1, long_ago, 7.0, 1.0)],
        [ProcessTimes(10, 1, long_ago, 7.5, 1.5)],
    ]
    platform = Scripted(scans, {10: "web", 20: "db"})
    classifier = Classifier(ServiceSettings(rule=[ServiceRule("web", exe="web"), ServiceRule("db", exe="db")]))
    service_cpu = ServiceCpu(classifier, platform)  # the first scan: the baseline
    assert service_cpu.scan() == {"web": 2.5}
    assert service_cpu.scan() == {"db": 0.25}  # all of its time: it was born in the interval
    assert service_cpu.scan() == {"web": 0.25}
    assert service_cpu.scan() == {}
    assert service_cpu.scan() == {"web": 1.0}  # once the credit is spent, own and children time count


def test_a_process_gone_before_it_is_classified_counts_as_catch_all() -> None:
    scans = [[], [ProcessTimes(40, 1, 4e9, 0.5, 0.0)]]
    service_cpu = ServiceCpu(Classifier(ServiceSettings(rule=[ServiceRule("web", exe="web")])), Scripted(scans, {}))
    assert service_cpu.scan() == {"other": 0.5}
