"""Usage samples: CPU utilisation, memory, disk and network bytes over one interval (psutil), and
the measured power (agent.power)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import psutil

from fleetprint.agent.platform import Platform, host_platform
from fleetprint.agent.power import PowerReader
from fleetprint.agent.service_cpu import ServiceCpu
from fleetprint.agent.services import Classifier, ServiceSettings
from fleetprint.schema import Sample, utc_now

_LOOPBACK_PREFIXES = ("lo",)


def _disk_bytes() -> tuple[int, int]:
    counters = psutil.disk_io_counters(perdisk=False)
    return (counters.read_bytes, counters.write_bytes) if counters else (0, 0)


def _net_bytes() -> tuple[int, int]:
    """Bytes received and sent on every interface but loopback."""
    rx = tx = 0
    for name, counters in psutil.net_io_counters(pernic=True).items():
        if not name.startswith(_LOOPBACK_PREFIXES):
            rx += counters.bytes_recv
            tx += counters.bytes_sent
    return rx, tx


def _delta(now: int, before: int) -> int:
    """Counter growth; a counter that went backwards (reset, device removed) counts from zero."""
    return now - before if now >= before else now


class UsageSampler:
    """Takes a Sample covering the time since the previous one (or since construction), with
    each service's CPU share when process rules are configured (`service_cpu`) and the mean
    power per channel when given the power sources (`power`).

    A sample's `interval_s` is measured on `clock`, the platform's awake clock: after a laptop
    slept, the sample that spans the sleep covers only the time the machine was awake (its
    `ts` is still the wall-clock time it was taken)."""

    def __init__(self, service_cpu: ServiceCpu | None = None, power: PowerReader | None = None,
                 clock: Callable[[], float] = Platform.awake_clock) -> None:
        self.service_cpu = service_cpu
        self.power = power
        self._clock = clock
        psutil.cpu_percent(interval=None)  # primes psutil's CPU-time baseline
        if power is not None:
            power.read()  # primes the energy counters
        self._started = clock()
        self._disk = _disk_bytes()
        self._net = _net_bytes()

    def take(self, now: datetime | None = None) -> Sample:
        ts = now or utc_now()
        started, self._started = self._started, self._clock()
        interval_s = max(self._started - started, 1e-3)
        power_w = self.power.read() if self.power is not None else {}
        cpu_pct = psutil.cpu_percent(interval=None)
        cpu_shares = self.service_cpu.shares(interval_s) if self.service_cpu else {}
        memory = psutil.virtual_memory()
        disk, net = _disk_bytes(), _net_bytes()
        sample = Sample(
            ts=ts,
            interval_s=interval_s,
            cpu_util_pct=min(max(cpu_pct, 0.0), 100.0),
            mem_used_bytes=memory.total - memory.available,
            mem_total_bytes=memory.total,
            disk_read_bytes=_delta(disk[0], self._disk[0]),
            disk_write_bytes=_delta(disk[1], self._disk[1]),
            net_rx_bytes=_delta(net[0], self._net[0]),
            net_tx_bytes=_delta(net[1], self._net[1]),
            power_w=power_w,
            cpu_shares=cpu_shares,
        )
        self._disk, self._net = disk, net
        return sample


def sampler_for(services: ServiceSettings, power: PowerReader | None = None) -> UsageSampler:
    """A sampler that scans processes only when there are rules to map them to services."""
    platform = host_platform()
    classifier = Classifier(services, ignore_case=platform.names_ignore_case)
    return UsageSampler(ServiceCpu(classifier, platform) if classifier.has_rules else None, power,
                        platform.awake_clock)
