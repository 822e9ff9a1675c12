"""Hourly carbon-intensity profiles from files, as grid operators and data providers export them.

Three forms are read, told apart by their header:
- Electricity Maps CSV exports: `Datetime (UTC)` and `Carbon Intensity gCO₂eq/kWh (LCA)`
  (the life-cycle figure, as Boavizta's factors; `(direct)` when that is all there is);
- RTE éCO2mix files (France): `Date` and `Heures` in Paris local time and `Taux de CO2`
  (g/kWh), semicolon-separated, every 15 or 30 minutes: averaged per hour;
- a plain CSV: `datetime` (ISO 8601 with its offset) and `gco2e_per_kwh`.
The result maps the start of each UTC hour (ms) to grams of CO2e per kWh.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000
_PARIS = ZoneInfo("Europe/Paris")


class ProfileError(ValueError):
    """A profile file that cannot be read: says the file and the reason."""


def _hour_ms(moment: datetime) -> int:
    ms = int(moment.timestamp() * 1000)
    return ms - ms % HOUR_MS


def _find(header: list[str], *needles: str) -> int | None:
    for index, name in enumerate(header):
        if all(needle in name.lower() for needle in needles):
            return index
    return None


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    rows = [row for row in csv.reader(text.splitlines(), delimiter=delimiter) if any(cell.strip() for cell in row)]
    if not rows:
        raise ProfileError(f"{path}: empty")
    return [name.strip() for name in rows[0]], rows[1:]


def load_profile(path: Path) -> dict[int, float]:
    """UTC hour start (ms) -> gCO2e/kWh, averaged over the readings within the hour."""
    try:
        header, rows = _rows(path)
    except OSError as exc:
        raise ProfileError(f"{path}: {exc.strerror}") from None
    readings: dict[int, list[float]] = defaultdict(list)
    electricity_maps = _find(header, "datetime (utc)")
    eco2mix = _find(header, "taux de co2")
    if electricity_maps is not None:
        value_col = _find(header, "carbon intensity", "(lca)")
        value_col = value_col if value_col is not None else _find(header, "carbon intensity")
        parse = lambda row: datetime.fromisoformat(row[electricity_maps].strip()).replace(tzinfo=timezone.utc)  # noqa: E731
    elif eco2mix is not None:
        date_col, hour_col, value_col = _find(header, "date"), _find(header, "heure"), eco2mix
        if date_col is None or hour_col is None:
            raise ProfileError(f"{path}: an éCO2mix file needs Date and Heures columns")
        parse = lambda row: datetime.fromisoformat(f"{row[date_col].strip()}T{row[hour_col].strip()}").replace(  # noqa: E731
            tzinfo=_PARIS)
    else:
        time_col, value_col = _find(header, "datetime"), _find(header, "gco2e_per_kwh")
        if time_col is None:
            raise ProfileError(f"{path}: no known header (Electricity Maps, éCO2mix, or datetime,gco2e_per_kwh)")
        parse = lambda row: datetime.fromisoformat(row[time_col].strip())  # noqa: E731
    if value_col is None:
        raise ProfileError(f"{path}: no carbon-intensity column")
    for number, row in enumerate(rows, start=2):
        value = row[value_col].strip() if value_col < len(row) else ""
        if not value or value in ("ND", "-"):
            continue  # éCO2mix leaves future or missing slots empty
        try:
            moment = parse(row)
            intensity = float(value.replace(",", "."))
        except ValueError as exc:
            raise ProfileError(f"{path}: line {number}: {exc}") from None
        if moment.tzinfo is None:
            raise ProfileError(f"{path}: line {number}: a time without its UTC offset")
        readings[_hour_ms(moment)].append(intensity)
    if not readings:
        raise ProfileError(f"{path}: no readings")
    return {hour: sum(values) / len(values) for hour, values in readings.items()}
