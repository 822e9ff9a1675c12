"""Modelled power: the formulas evaluated per sample, from coefficients fitted once per host."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleetprint.collector.impact.boavizta import ServerCurveFigures
from fleetprint.collector.impact.fitted_power import FittedServerCurve

MIN_CPU_POWER_W = 1.0  # boaviztapi's floor for one CPU's modelled power


@dataclass(frozen=True, slots=True)
class ServerCurve:
    """Boavizta's server model: (sockets·P_cpu(x) + RAM(x))·(1 + overhead) + disks, times a share.

    P_cpu(x) = max(a·ln(b·(x + c)) + d, 1) per socket and RAM(x) = full·(idle + (1 − idle)·x/100)
    for load x in percent. `share` is 1 for a physical server and a VM's part of its host.
    """

    figures: ServerCurveFigures
    share: float = 1.0

    def cpu_w(self, load_pct: float) -> float:
        """All sockets' modelled CPU power."""
        f = self.figures
        return f.cpu_units * max(f.cpu_a * math.log(f.cpu_b * (load_pct + f.cpu_c)) + f.cpu_d, MIN_CPU_POWER_W)

    def ram_w(self, load_pct: float) -> float:
        """All DIMMs' modelled power."""
        f = self.figures
        return f.ram_full_w * (f.ram_idle_ratio + (1.0 - f.ram_idle_ratio) * load_pct / 100.0)

    def with_components(self, cpu_w: float, ram_w: float) -> float:
        """The whole machine from its CPU and RAM power (measured or modelled): overhead and disks added."""
        f = self.figures
        return ((cpu_w + ram_w) * (1.0 + f.overhead_ratio) + f.disk_w) * self.share

    def power_w(self, load_pct: float) -> float:
        return self.with_components(self.cpu_w(load_pct), self.ram_w(load_pct))


PowerModel = ServerCurve | FittedServerCurve
