"""Everyday equivalents of a carbon footprint for the report's first page, each with its published source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Equivalence:
    kgco2e_per_unit: float
    text: str  # "%(count)s km driven ..." with the count formatted by the caller
    source: str
    url: str


CAR_KM = Equivalence(
    0.218, "%(count)s km driven alone in a petrol or diesel car",
    "ADEME, Impact CO2: car with a combustion engine, 218 gCO2e per km and passenger, manufacture included",
    "https://impactco2.fr/outils/transport")
PERSON_DAYS_FRANCE = Equivalence(
    9200.0 / 365.25, "the whole carbon footprint of a person living in France for %(count)s days",
    "SDES (French Ministry for the Ecological Transition), the carbon footprint of France 1995-2022: "
    "9.2 tCO2e per person in 2022",
    "https://www.statistiques.developpement-durable.gouv.fr/")
EQUIVALENCES = (CAR_KM, PERSON_DAYS_FRANCE)


def equivalents(kgco2e: float) -> list[tuple[Equivalence, float]]:
    """(equivalence, how many of its unit) for a footprint in kgCO2e."""
    return [(equivalence, kgco2e / equivalence.kgco2e_per_unit) for equivalence in EQUIVALENCES]
