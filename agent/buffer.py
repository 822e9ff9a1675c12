"""The agent's on-disk queue: every sample is stored before any publish, and deleted only once the
broker has acknowledged the report that carried it (SQLite in WAL mode: survives kill -9 and
power loss of the process, keeps the last committed samples).

Bounded: beyond `max_samples` the oldest samples are evicted; their number is kept (also on
disk) until a report that says so is acknowledged.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import msgspec

from fleetprint.schema import Sample

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Sample)


class SampleBuffer:
    """A bounded FIFO of samples in SQLite, safe to use from several threads."""

    def __init__(self, path: Path, max_samples: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.max_samples = max_samples
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA cache_size=-512")  # KiB: the page cache stays small even with a long backlog
        self._db.execute("CREATE TABLE IF NOT EXISTS samples (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self._db.execute("INSERT OR IGNORE INTO counters VALUES ('evicted', 0)")
        self._count = self._db.execute("SELECT count(*) FROM samples").fetchone()[0]

    def __len__(self) -> int:
        return self._count

    def put(self, sample: Sample) -> None:
        """Store a sample; evict the oldest beyond the bound, counting them."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT INTO samples (body) VALUES (?)", (_encoder.encode(sample),))
            self._count += 1
            excess = self._count - self.max_samples
            if excess > 0:
                self._db.execute(
                    "DELETE FROM samples WHERE id IN (SELECT id FROM samples ORDER BY id LIMIT ?)", (excess,))
                self._db.execute("UPDATE counters SET value = value + ? WHERE name = 'evicted'", (excess,))
                self._count -= excess

    def oldest_after(self, after_id: int, limit: int) -> list[tuple[int, Sample]]:
        """Up to `limit` samples with an id above `after_id`, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, body FROM samples WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)).fetchall()
        return [(row_id, _decoder.decode(body)) for row_id, body in rows]

    def remove(self, first_id: int, last_id: int) -> None:
        """Delete the samples with ids in [first_id, last_id] (a report's, once acknowledged)."""
        with self._lock, self._db:
            removed = self._db.execute("DELETE FROM samples WHERE id BETWEEN ? AND ?", (first_id, last_id)).rowcount
            self._count -= removed

    def evicted(self) -> int:
        """Samples evicted and not yet reported in an acknowledged report."""
        with self._lock:
            return self._db.execute("SELECT value FROM counters WHERE name = 'evicted'").fetchone()[0]

    def forget_evicted(self, reported: int) -> None:
        """An acknowledged report said `reported` samples were evicted."""
        with self._lock, self._db:
            self._db.execute("UPDATE counters SET value = max(0, value - ?) WHERE name = 'evicted'", (reported,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
