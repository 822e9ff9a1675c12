"""An asset register as CSV: our columns (docs/assets.md), or a register's own, mapped.

Spreadsheets export CSV in many ways, and every one is read the same: UTF-8 with or without a
byte-order mark, else Windows-1252 (Excel's French and German exports); `,`, `;` or tab as the
separator (the header line decides); decimal commas in numbers; day-first dates. Headers are
matched whatever their case, accents and punctuation, against our column names and the names
real exports give them (GLPI's, NumEcoEval's, French and English spreadsheets: `HEADER_ALIASES`);
a mapping file names the others (`[columns] "N° d'immobilisation" = "id"`) and the register's
own category names (`[categories] "Écran 27 pouces" = "monitor"`).
"""

from __future__ import annotations

import csv
import io
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from fleetprint.collector.assets.register import Asset, FieldError, RegisterError, asset_from_fields, check_register

COLUMNS = ("id", "category", "maker", "model", "serial", "quantity", "site", "department", "service", "zone",
           "purchase_date", "disposal_date", "yearly_kwh", "power_w", "hours_per_day", "days_per_year",
           "manufacture_gwp_kgco2e", "lifetime_years", "host_id")

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("asset id", "asset tag", "inventory number", "numéro d'inventaire", "n° d'inventaire", "n° inventaire",
           "nom", "name", "nomEquipementPhysique", "hostname"),
    "category": ("type", "catégorie", "type d'équipement", "itemtype", "device type", "type equipement"),
    "maker": ("manufacturer", "fabricant", "constructeur", "marque", "brand", "vendor"),
    "model": ("modèle", "modele", "model name"),
    "serial": ("serial number", "numéro de série", "n° de série", "numero de serie", "sn"),
    "quantity": ("qty", "quantité", "quantite", "count", "nombre"),
    "site": ("location", "lieu", "localisation", "building", "bâtiment"),
    "department": ("direction", "département", "business unit", "entité", "entity", "nomEntite", "organisation",
                   "organization"),
    "purchase_date": ("purchase date", "date d'achat", "date achat", "dateAchat", "acquisition date",
                      "date de mise en service"),
    "disposal_date": ("disposal date", "date de retrait", "dateRetrait", "date de réforme", "retirement date",
                      "date de sortie"),
    "yearly_kwh": ("consoElecAnnuelle", "consommation annuelle", "consommation annuelle (kwh)", "annual kwh",
                   "kwh per year", "kwh/an"),
    "power_w": ("power", "puissance", "puissance (w)", "watts"),
    "hours_per_day": ("heures par jour", "hours per day", "usage hours per day"),
    "days_per_year": ("jours par an", "days per year", "nbJourUtiliseAn"),
    "manufacture_gwp_kgco2e": ("manufacture gwp", "fabrication kgco2e", "empreinte fabrication (kgco2e)"),
    "lifetime_years": ("durée de vie", "duree de vie", "lifetime", "lifetime (years)"),
    "host_id": ("agent host id", "fleetprint host"),
}
_SEPARATORS = (";", ",", "\t")


def header_key(text: str) -> str:
    """A header as compared: lower case, accents and everything but letters and digits removed."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if c.isalnum())


_KNOWN = {header_key(alias): column for column, aliases in HEADER_ALIASES.items() for alias in aliases}
_KNOWN.update({header_key(column): column for column in COLUMNS})


@dataclass(frozen=True)
class Mapping:
    """A register's own names: its columns (header -> our column) and its categories (name -> ours)."""

    columns: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Mapping:
        """A mapping file (TOML: `[columns]` and `[categories]` tables); ValueError names the key at fault."""
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        unknown = set(document) - {"columns", "categories"}
        if unknown:
            raise ValueError(f"{path}: unknown table {sorted(unknown)[0]!r} (columns, categories)")
        columns = {str(k): str(v) for k, v in document.get("columns", {}).items()}
        for header, column in columns.items():
            if column not in COLUMNS:
                raise ValueError(f"{path}: columns.{header!r}: {column!r} is not a column ({', '.join(COLUMNS)})")
        return cls(columns, {str(k).strip().lower(): str(v) for k, v in document.get("categories", {}).items()})


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (a byte-order mark dropped), else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_csv(data: bytes, source: str, mapping: Mapping | None = None) -> list[Asset]:
    """The register's assets; RegisterError listing every faulty row (line numbers as a spreadsheet shows them)."""
    mapping = mapping or Mapping()
    text = decode(data)
    first_line = text.split("\n", 1)[0]
    separator = max(_SEPARATORS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        header = next(reader)
    except StopIteration:
        raise RegisterError(source, ["the file is empty"]) from None
    own = {header_key(k): v for k, v in mapping.columns.items()}
    columns: list[str | None] = []
    faults: list[str] = []
    for name in header:
        column = own.get(header_key(name)) or _KNOWN.get(header_key(name))
        if column in columns:
            faults.append(f"row 1: columns {name!r} and another both stand for {column}")
        columns.append(column)
    for required in ("id", "category"):
        if required not in columns:
            faults.append(f"row 1: no {required} column (headers: {', '.join(header)[:300]}); name it in a "
                          "mapping file's [columns] (docs/assets.md)")
    if faults:
        raise RegisterError(source, faults)
    rows: list[tuple[str, Asset]] = []
    for line_number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(header):
            faults.append(f"row {line_number}: {len(values)} fields for {len(header)} columns")
            continue
        fields = {column: value for column, value in zip(columns, values) if column is not None}
        own_category = mapping.categories.get(fields.get("category", "").strip().lower())
        if own_category:
            fields["category"] = own_category
        try:
            rows.append((f"row {line_number}", asset_from_fields(fields)))
        except FieldError as exc:
            faults.append(f"row {line_number}, {exc}")
    if faults:
        raise RegisterError(source, faults)
    return check_register(rows, source)
