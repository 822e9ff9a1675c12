"""Splitting a host's footprint across the services that ran on it.

- **Active power** (the power above the host's idle power) follows each service's CPU time
  in the interval (the agent's process rules). Without process data it follows the host's
  declared service weights, and without those it goes to the `unallocated` service.
- **Idle power and embodied impacts** follow the configured rule:
  `cpu_share` (default): like active power; `weights`: the host's declared service weights
  (agent `host.services`, else its site's `services` in the collector config), else
  `unallocated`; `unallocated`: all to the visible `unallocated` service.

Energy and usage impacts follow power. Each split's fractions add up to 1, so the services'
figures add up to the host's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fleetprint.collector.impact.footprint import SampleFootprint
from fleetprint.impacts import Impacts

IdleRule = Literal["cpu_share", "weights", "unallocated"]


@dataclass(slots=True)  # made per sample: not frozen, which costs 5x to create
class Split:
    """Per service, its fraction of the host's active power and of its idle power and embodied impacts."""

    active: dict[str, float]
    idle: dict[str, float]


@dataclass(slots=True)  # made per sample: not frozen, which costs 5x to create
class ServiceFootprint:
    """One service's part of one host's sample: its CPU share (the agent's), power and impacts."""

    cpu_share: float
    power_w: float
    impacts: Impacts


def _normalised(values: dict[str, float]) -> dict[str, float] | None:
    total = sum(values.values())
    return {name: value / total for name, value in values.items() if value > 0} if total > 0 else None


def split(cpu_shares: dict[str, float], weights: dict[str, float], rule: IdleRule, unallocated: str) -> Split:
    """The fractions for one sample (see the module's doc for the rules)."""
    everything_unallocated = {unallocated: 1.0}
    by_cpu = _normalised(cpu_shares)
    by_weight = _normalised(weights)
    active = by_cpu or by_weight or everything_unallocated
    if rule == "cpu_share":
        idle = active
    elif rule == "weights":
        idle = by_weight or everything_unallocated
    else:
        idle = everything_unallocated
    return Split(active, idle)


def service_footprints(fp: SampleFootprint, idle_w: float, fractions: Split,
                       cpu_shares: dict[str, float]) -> dict[str, ServiceFootprint]:
    """Each service's power, energy and impacts in one sample; they add up to the host's."""
    idle_part_w = min(idle_w, fp.power_w)
    active_w = fp.power_w - idle_part_w
    out: dict[str, ServiceFootprint] = {}
    for service in fractions.active.keys() | fractions.idle.keys():
        a, b = fractions.active.get(service, 0.0), fractions.idle.get(service, 0.0)
        power_w = active_w * a + idle_part_w * b
        of_power = power_w / fp.power_w if fp.power_w > 0 else b
        out[service] = ServiceFootprint(cpu_shares.get(service, 0.0), power_w, fp.impacts.part(of_power, b))
    return out
