"""What-if: keeping hardware N more years instead of replacing it at the end of its lifetime.

Manufacture impacts are amortised linearly over a host's lifetime L (years): total / L per
year. Kept N more years, the same total spreads over L + N years: total / (L + N) per year,
so a period's embodied figure becomes figure × L / (L + N). Replacing the host at the end
of L starts a new device's amortisation at the same rate: the current figure. The saving of
keeping is the difference. Use-phase energy is assumed unchanged (a newer machine may use
less; this is not modelled).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

HOURS_PER_YEAR = 8766.0  # 365.25 days


@dataclass(frozen=True)
class HostEmbodied:
    """One host's manufacture figures: whole life (inventory) and allocated to the period (samples)."""

    kind: str
    lifetime_h: float
    embodied_total_gco2e: float
    period_embodied_gco2e: float
    past_lifetime: bool


@dataclass(frozen=True)
class WhatIfRow:
    """Hosts of one kind (or all) still within their lifetime; kgCO2e."""

    kind: str
    hosts: int
    mean_lifetime_years: float
    per_year_kg: float  # current amortisation: total / L
    kept_per_year_kg: float  # kept N more years: total / (L + N)
    period_kg: float  # manufacture allocated to the period
    kept_period_kg: float  # the same, amortised over L + N

    @property
    def saving_per_year_kg(self) -> float:
        return self.per_year_kg - self.kept_per_year_kg

    @property
    def saving_period_kg(self) -> float:
        return self.period_kg - self.kept_period_kg


@dataclass(frozen=True)
class WhatIf:
    years: float
    rows: list[WhatIfRow]  # per kind, largest saving first
    total: WhatIfRow
    past_hosts: int  # hosts already past their lifetime (no embodied impacts any more)
    past_replacement_per_year_kg: float  # what replacing those now would add per year


def _row(kind: str, hosts: list[HostEmbodied], years: float) -> WhatIfRow:
    lifetimes = [host.lifetime_h / HOURS_PER_YEAR for host in hosts]
    return WhatIfRow(
        kind=kind, hosts=len(hosts),
        mean_lifetime_years=sum(lifetimes) / len(lifetimes) if lifetimes else 0.0,
        per_year_kg=sum(h.embodied_total_gco2e / life for h, life in zip(hosts, lifetimes)) / 1000.0,
        kept_per_year_kg=sum(h.embodied_total_gco2e / (life + years) for h, life in zip(hosts, lifetimes)) / 1000.0,
        period_kg=sum(h.period_embodied_gco2e for h in hosts) / 1000.0,
        kept_period_kg=sum(h.period_embodied_gco2e * life / (life + years) for h, life in zip(hosts, lifetimes)) / 1000,
    )


def extend_lifetimes(hosts: Iterable[HostEmbodied], years: float) -> WhatIf:
    """The saving of keeping every host still within its lifetime `years` longer, per kind and in total."""
    if years <= 0:
        raise ValueError("the extension must be positive")
    usable = [host for host in hosts if host.lifetime_h > 0]
    current = [host for host in usable if not host.past_lifetime]
    past = [host for host in usable if host.past_lifetime]
    kinds = sorted({host.kind for host in current})
    rows = sorted((_row(kind, [h for h in current if h.kind == kind], years) for kind in kinds),
                  key=lambda row: -row.saving_per_year_kg)
    return WhatIf(years=years, rows=rows, total=_row("all", current, years), past_hosts=len(past),
                  past_replacement_per_year_kg=sum(h.embodied_total_gco2e * HOURS_PER_YEAR / h.lifetime_h
                                                   for h in past) / 1000.0)
