"""The estate file: every device the registers listed, and when each left them (SQLite).

An import replaces one source's devices in one transaction: a device new to the source is added,
one whose fields changed is updated, one the register no longer lists is marked removed at the
import's time (its history stays: it was counted until then), and one that comes back is listed
again. Importing the same register twice changes nothing. Several sources (the CSV register, the
GLPI inventories) live side by side, each device keyed by its source and id.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path

from fleetprint.collector.assets.register import Asset, EstateDevice

_ASSET_FIELDS = tuple(f.name for f in fields(Asset))
_SCHEMA = """
CREATE TABLE IF NOT EXISTS assets (
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    fields TEXT NOT NULL,
    listed_at TEXT NOT NULL,
    removed_at TEXT,
    PRIMARY KEY (source, id)
);
CREATE TABLE IF NOT EXISTS imports (
    source TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    file TEXT NOT NULL,
    added INTEGER NOT NULL, changed INTEGER NOT NULL, unchanged INTEGER NOT NULL, removed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS progress (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class ImportResult:
    added: int
    changed: int
    unchanged: int
    removed: int


def _encode(asset: Asset) -> str:
    return json.dumps(asset.as_row(), sort_keys=True, ensure_ascii=False)


def _decode(text: str) -> Asset:
    row = json.loads(text)
    for key in ("purchase_date", "disposal_date"):
        row[key] = date.fromisoformat(row[key]) if row.get(key) else None
    return Asset(**{name: row[name] for name in _ASSET_FIELDS if name in row})


class Estate:
    """The estate file at `path` (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.executescript("PRAGMA journal_mode=WAL;" + _SCHEMA)

    def close(self) -> None:
        self._db.close()

    def replace_source(self, source: str, assets: Iterable[Asset], at: datetime, file: str,
                       listed_since: datetime | None = None) -> ImportResult:
        """Make `source`'s devices those of `assets`, in one transaction; devices new to it count from
        `listed_since` (default: `at`, the import's time)."""
        stamp = at.isoformat()
        since = (listed_since or at).isoformat()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            known = {row[0]: (row[1], row[2]) for row in db.execute(
                "SELECT id, fields, removed_at FROM assets WHERE source = ?", (source,))}
            added = changed = unchanged = 0
            listed: set[str] = set()
            for asset in assets:
                listed.add(asset.id)
                encoded = _encode(asset)
                before = known.get(asset.id)
                if before is None:
                    db.execute("INSERT INTO assets VALUES (?, ?, ?, ?, NULL)", (source, asset.id, encoded, since))
                    added += 1
                elif before[1] is not None:  # back in the register: listed again from now
                    db.execute("UPDATE assets SET fields = ?, listed_at = ?, removed_at = NULL WHERE source = ? "
                               "AND id = ?", (encoded, stamp, source, asset.id))
                    added += 1
                elif before[0] != encoded:
                    db.execute("UPDATE assets SET fields = ? WHERE source = ? AND id = ?", (encoded, source, asset.id))
                    changed += 1
                else:
                    unchanged += 1
            gone = [asset_id for asset_id, (_, removed) in known.items() if removed is None and asset_id not in listed]
            db.executemany("UPDATE assets SET removed_at = ? WHERE source = ? AND id = ?",
                           [(stamp, source, asset_id) for asset_id in gone])
            if listed_since is not None and listed_since < at and added:
                # The hours since then are written again at the job's next run (the same points for the others).
                backfill = db.execute("SELECT value FROM progress WHERE name = 'backfill_from'").fetchone()
                if backfill is None or datetime.fromisoformat(backfill[0]) > listed_since:
                    db.execute("INSERT INTO progress VALUES ('backfill_from', ?) ON CONFLICT(name) DO UPDATE SET "
                               "value = excluded.value", (since,))
            result = ImportResult(added, changed, unchanged, len(gone))
            db.execute("INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (source, stamp, file, result.added, result.changed, result.unchanged, result.removed))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return result

    def devices(self, listed_before: datetime | None = None) -> list[EstateDevice]:
        """Every device listed before `listed_before` (all when None), removed ones included."""
        query = "SELECT source, fields, listed_at, removed_at FROM assets"
        rows = self._db.execute(query + (" WHERE listed_at < ?" if listed_before else "") + " ORDER BY source, id",
                                (listed_before.isoformat(),) if listed_before else ())
        return [EstateDevice(source, _decode(encoded), datetime.fromisoformat(listed),
                             datetime.fromisoformat(removed) if removed else None)
                for source, encoded, listed, removed in rows]

    def host_departments(self) -> dict[str, str]:
        """The department the register gives each agent's host it names (`host_id`), listed devices only."""
        rows = self._db.execute(
            "SELECT json_extract(fields, '$.host_id'), json_extract(fields, '$.department') FROM assets "
            "WHERE removed_at IS NULL AND json_extract(fields, '$.host_id') != '' "
            "AND json_extract(fields, '$.department') != ''")
        return dict(rows.fetchall())

    def clear_progress(self, name: str) -> None:
        self._db.execute("DELETE FROM progress WHERE name = ?", (name,))

    def get_progress(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM progress WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_progress(self, name: str, value: str) -> None:
        self._db.execute("INSERT INTO progress VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                         (name, value))
