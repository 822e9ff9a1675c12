"""One device of the asset register, as the estate keeps it, and the checks every reader applies.

A reader (csv_register.py, inventory_xml.py) turns its rows into `Asset`s with `asset_from_fields`,
which names the row and the column of any fault; `check_register` then holds the whole register
to the rules one row cannot see (duplicate ids, unknown categories, missing figures), listing
every faulty row at once. A register with any fault is refused whole: nothing half-imported.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime

from fleetprint.collector.assets.categories import CATEGORIES, category_named, typical_figures

ZONE = re.compile(r"^[A-Z]{3}\Z")
_LABEL = re.compile(r"^[^\x00-\x1f]{1,64}\Z")
MAX_QUANTITY = 1_000_000
# Dates as registers write them: ISO, and day first (French and most European exports).
_ISO_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ].*)?\Z")
_DAY_FIRST_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\Z")


class RegisterError(ValueError):
    """A register that cannot be imported, with every fault found (`faults`: "row 12, column x: ...")."""

    def __init__(self, source: str, faults: list[str]) -> None:
        self.faults = faults
        shown = "\n  ".join(faults[:50]) + (f"\n  ... and {len(faults) - 50} more" if len(faults) > 50 else "")
        plural = "s" if len(faults) > 1 else ""
        super().__init__(f"{source}: {len(faults)} problem{plural}, nothing imported:\n  {shown}")


class FieldError(ValueError):
    """One field's fault: the caller adds where it is."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(f"column {column}: {reason}")


@dataclass(frozen=True)
class Asset:
    """A device (or `quantity` identical ones) the register lists. Figures declared by the register
    (`yearly_kwh`, `power_w` with hours of use, `manufacture_gwp_kgco2e`) win over the category's."""

    id: str
    category: str
    maker: str = ""
    model: str = ""
    serial: str = ""
    quantity: int = 1
    site: str = ""
    department: str = ""
    service: str = ""
    zone: str = ""
    purchase_date: date | None = None
    disposal_date: date | None = None
    yearly_kwh: float | None = None
    power_w: float | None = None
    hours_per_day: float | None = None
    days_per_year: float | None = None
    manufacture_gwp_kgco2e: float | None = None
    lifetime_years: float | None = None
    host_id: str = ""  # the agent that reports this device, when one does (counted once: the agent's)

    def as_row(self) -> dict[str, object]:
        row = asdict(self)
        for key in ("purchase_date", "disposal_date"):
            row[key] = row[key].isoformat() if row[key] else None
        return row


@dataclass(frozen=True)
class EstateDevice:
    """A device as the estate holds it: its fields, its source, and since and until when it was listed."""

    source: str
    asset: Asset
    listed_at: datetime
    removed_at: datetime | None


def parse_number(text: str, column: str, low: float = 0.0, high: float = 1e9) -> float | None:
    """A number in either decimal notation ("1234.5", "1 234,5"); None when empty."""
    cleaned = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not cleaned:
        return None
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise FieldError(column, f"{text!r} is not a number") from None
    if not low <= value <= high:
        raise FieldError(column, f"{text!r} is out of range ({low:g} to {high:g})")
    return value


def parse_date(text: str, column: str) -> date | None:
    """A date as registers write it: ISO (a time after it ignored), or day first (15/03/2024, 15.03.2024)."""
    text = text.strip()
    if not text:
        return None
    match = _ISO_DATE.match(text)
    if match:
        year, month, day = match.groups()
    else:
        match = _DAY_FIRST_DATE.match(text)
        day, month, year = match.groups() if match else ("", "", "")
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise FieldError(column, f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)") from None


def _label(text: str, column: str) -> str:
    text = " ".join(text.split())
    if text and not _LABEL.match(text):
        raise FieldError(column, f"{text[:80]!r} is longer than 64 characters")
    return text


def asset_from_fields(fields: Mapping[str, str]) -> Asset:
    """An asset from a row's text fields, by column name; raises FieldError naming the column."""
    get = lambda name: (fields.get(name) or "").strip()  # noqa: E731
    asset_id = get("id")
    if not asset_id:
        raise FieldError("id", "empty")
    if len(asset_id) > 128:
        raise FieldError("id", "longer than 128 characters")
    quantity = parse_number(get("quantity"), "quantity", 0, MAX_QUANTITY)
    if quantity is not None and (quantity < 1 or quantity != int(quantity)):
        raise FieldError("quantity", f"{get('quantity')!r} is not a whole number of devices (1 or more)")
    zone = get("zone").upper()
    if zone and not ZONE.match(zone):
        raise FieldError("zone", f"{zone!r} is not an ISO 3166 alpha-3 code (FRA, DEU, ...)")
    asset = Asset(
        id=asset_id, category=get("category"), maker=get("maker")[:256], model=get("model")[:256],
        serial=get("serial")[:128], quantity=int(quantity or 1), site=_label(get("site"), "site"),
        department=_label(get("department"), "department"), service=_label(get("service"), "service"), zone=zone,
        purchase_date=parse_date(get("purchase_date"), "purchase_date"),
        disposal_date=parse_date(get("disposal_date"), "disposal_date"),
        yearly_kwh=parse_number(get("yearly_kwh"), "yearly_kwh", 0, 1e7),
        power_w=parse_number(get("power_w"), "power_w", 0, 1e6),
        hours_per_day=parse_number(get("hours_per_day"), "hours_per_day", 0, 24),
        days_per_year=parse_number(get("days_per_year"), "days_per_year", 0, 366),
        manufacture_gwp_kgco2e=parse_number(get("manufacture_gwp_kgco2e"), "manufacture_gwp_kgco2e", 0, 1e8),
        lifetime_years=parse_number(get("lifetime_years"), "lifetime_years", 0.1, 50),
        host_id=get("host_id")[:64],
    )
    if asset.disposal_date and asset.purchase_date and asset.disposal_date < asset.purchase_date:
        raise FieldError("disposal_date", "before purchase_date")
    if asset.power_w is not None and (asset.hours_per_day is None or asset.days_per_year is None):
        raise FieldError("power_w", "needs hours_per_day and days_per_year (or give yearly_kwh)")
    return asset


def check_register(rows: Iterable[tuple[str, Asset]], source: str) -> list[Asset]:
    """The register's assets with their categories' canonical names, or RegisterError listing every
    duplicate id, unknown category and device without the figures its category lacks. `rows` pairs
    each asset with where it is ("row 12")."""
    assets: list[Asset] = []
    faults: list[str] = []
    seen: dict[str, str] = {}
    unknown: dict[str, list[str]] = defaultdict(list)
    figures = typical_figures()
    for where, asset in rows:
        if asset.id in seen:
            faults.append(f"{where}: id {asset.id!r} already on {seen[asset.id]}")
            continue
        seen[asset.id] = where
        category = category_named(asset.category)
        if category is None:
            unknown[" ".join(asset.category.split()).lower()].append(where)
            continue
        typical = figures.get(category.name)
        if asset.yearly_kwh is None and asset.power_w is None and (typical is None or typical.yearly_kwh is None):
            faults.append(f"{where}: no typical energy for category {category.name}: give yearly_kwh "
                          "(or power_w with hours_per_day and days_per_year)")
        if asset.manufacture_gwp_kgco2e is None and (typical is None or typical.manufacture_gwp_kgco2e is None):
            faults.append(f"{where}: no typical manufacture footprint for category {category.name}: "
                          "give manufacture_gwp_kgco2e (the maker's declared figure)")
        assets.append(replace(asset, category=category.name))
    for name, places in sorted(unknown.items(), key=lambda item: -len(item[1])):
        faults.append(f"unknown category {name!r} on {len(places)} row{'s' if len(places) > 1 else ''} "
                      f"({', '.join(places[:5])}{', ...' if len(places) > 5 else ''}): map it to one of "
                      f"{', '.join(sorted(CATEGORIES))} (docs/assets.md)")
    if faults:
        raise RegisterError(source, faults)
    return assets

