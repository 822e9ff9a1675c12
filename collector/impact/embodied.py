"""Embodied (manufacture) impacts allocated linearly over a host's lifetime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True, slots=True)
class EmbodiedRate:
    """Manufacture impacts charged per hour of the host's life, in stored units.

    Totals come from boaviztapi in kgCO2e, kgSbeq and MJ; a criterion it does not
    implement for a device (PE for user terminals) is None, not zero.
    """

    lifetime_h: float
    total_gwp_kgco2e: float
    total_adp_kgsbeq: float | None
    total_pe_mj: float | None

    @property
    def gwp_gco2e_per_h(self) -> float:
        return self.total_gwp_kgco2e * 1000.0 / self.lifetime_h

    @property
    def adp_kgsbeq_per_h(self) -> float | None:
        return None if self.total_adp_kgsbeq is None else self.total_adp_kgsbeq / self.lifetime_h

    @property
    def pe_mj_per_h(self) -> float | None:
        return None if self.total_pe_mj is None else self.total_pe_mj / self.lifetime_h


def embodied_rate(totals: dict[str, float], lifetime_h: float, share: float = 1.0) -> EmbodiedRate:
    """An EmbodiedRate from boaviztapi totals per criterion, scaled by `share` (a VM's part of its host)."""
    def part(criterion: str) -> float | None:
        value = totals.get(criterion)
        return None if value is None else value * share

    return EmbodiedRate(lifetime_h, part("gwp") or 0.0, part("adp"), part("pe"))


def lifetime_hours(lifetime_years: float | None, default_h: float) -> float:
    """The configured lifetime in hours, else Boavizta's default for the device."""
    return lifetime_years * HOURS_PER_YEAR if lifetime_years else default_h


def amortised_at_ms(purchase_date: date | None, lifetime_h: float) -> int | None:
    """When hardware bought on `purchase_date` has carried all its manufacture impacts (UTC ms)."""
    if purchase_date is None:
        return None
    bought = datetime(purchase_date.year, purchase_date.month, purchase_date.day, tzinfo=timezone.utc)
    return int(bought.timestamp() * 1000 + lifetime_h * 3_600_000)
