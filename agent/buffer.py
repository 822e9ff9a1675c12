"""The agent's on-disk queue: every sample is stored before any publish, and deleted only once the
broker has acknowledged the report that carried it (SQLite in WAL mode: survives kill -9 and
power loss of the process, keeps the last committed samples).

Bounded: beyond `max_samples` the oldest samples are evicted; their number is kept (also on
disk) until a report that says so is acknowledged.

It degrades rather than fails. When the file cannot be written (disk full, quota, I/O error),
a sample that cannot be queued is dropped and counted with the evicted ones, and acknowledged
samples that cannot be deleted are deleted with the next write that succeeds; reading, and so
sending what is queued, goes on, after a restart too (without room for SQLite's shared-memory
file, the queue is opened for this process alone). A damaged file (not a database, malformed) is moved aside,
at start or whenever an operation meets it, and a fresh queue takes its place.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec

from fleetprint.agent.state import WriteWarning, move_aside
from fleetprint.schema import Sample, SampleV1

log = logging.getLogger(__name__)
T = TypeVar("T")
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Sample)
_v1_decoder = msgspec.json.Decoder(SampleV1)  # queued by an agent of an earlier release: CPU shares as `services`
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


def _decode(body: bytes) -> Sample:
    """A queued sample, also one an agent of an earlier release queued (report schema 1)."""
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError:
        return Sample(**msgspec.structs.asdict(_v1_decoder.decode(body)))


def _damaged(exc: sqlite3.Error) -> bool:
    """Whether SQLite says the file itself is broken (as opposed to unwritable)."""
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF in _DAMAGED


class SampleBuffer:
    """A bounded FIFO of samples in SQLite, safe to use from several threads."""

    def __init__(self, path: Path, max_samples: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_samples = max_samples
        self._lock = threading.Lock()
        self._warning = WriteWarning(path, log)
        self._db: sqlite3.Connection | None = None
        self._count = 0  # rows in the file
        self._dropped = 0  # evicted or not queued, not yet reported in an acknowledged report
        self._stored_dropped = 0  # the same, as last written to the file
        self._last_id = 0  # a fresh file continues the ids above it: reports in flight keep theirs
        self._unremoved: list[tuple[int, int]] = []  # acknowledged, not yet deleted
        with self._lock:
            try:
                self._run(lambda db: None)
            except sqlite3.Error as exc:
                self._warning.failed("cannot open %s (%s): samples are dropped and counted until it opens",
                                     self.path, exc)

    def __len__(self) -> int:
        return self._count

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect(exclusive=False)
        except sqlite3.Error as exc:
            if _damaged(exc):
                raise
            # No shared-memory index to create (it takes space): what is queued can be read and sent.
            db = self._connect(exclusive=True)
            log.warning("cannot open %s as usual (%s): opened for this process alone", self.path, exc)
            return db

    def _connect(self, exclusive: bool) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            if exclusive:
                db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA cache_size=-512")  # KiB: the page cache stays small even with a long backlog
            db.execute("CREATE TABLE IF NOT EXISTS samples (id INTEGER PRIMARY KEY AUTOINCREMENT, body BLOB NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            db.execute("INSERT OR IGNORE INTO counters VALUES ('evicted', 0)")
            self._count = db.execute("SELECT count(*) FROM samples").fetchone()[0]
            self._stored_dropped = db.execute("SELECT value FROM counters WHERE name = 'evicted'").fetchone()[0]
            last_id = db.execute("SELECT max(seq) FROM sqlite_sequence WHERE name = 'samples'").fetchone()[0] or 0
            if last_id < self._last_id:
                db.execute("DELETE FROM sqlite_sequence WHERE name = 'samples'")
                db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('samples', ?)", (self._last_id,))
        except BaseException:
            db.close()
            raise
        self._dropped = max(self._dropped, self._stored_dropped)
        self._last_id = max(self._last_id, last_id)
        return db

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run `operation` on the file, opened if need be; a damaged file is moved aside and the
        operation run again on a fresh one. Other errors (disk full, I/O) are the caller's."""
        try:
            if self._db is None:
                self._db = self._open()
            return operation(self._db)
        except sqlite3.Error as exc:
            if not _damaged(exc):
                raise
            self._set_aside(exc)
        self._db = self._open()
        return operation(self._db)

    def _set_aside(self, exc: sqlite3.Error) -> None:
        lost, self._count = self._count, 0
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        move_aside(self.path, "queue", f"{exc}; {lost} queued samples lost, counted as dropped" if lost else exc)
        self._dropped += lost
        self._unremoved.clear()

    def _write(self, db: sqlite3.Connection, change: Callable[[sqlite3.Connection], int]) -> None:
        """One transaction: pending deletions, then `change` (returns rows added), then the count."""
        with db:
            db.execute("BEGIN IMMEDIATE")
            rows = self._count
            for first_id, last_id in self._unremoved:
                rows -= db.execute("DELETE FROM samples WHERE id BETWEEN ? AND ?", (first_id, last_id)).rowcount
            rows += change(db)
            excess = max(0, rows - self.max_samples)
            if excess:
                db.execute("DELETE FROM samples WHERE id IN (SELECT id FROM samples ORDER BY id LIMIT ?)", (excess,))
            dropped = self._dropped + excess
            if dropped != self._stored_dropped:
                db.execute("UPDATE counters SET value = ? WHERE name = 'evicted'", (dropped,))
        self._count, self._dropped, self._stored_dropped = rows - excess, dropped, dropped
        self._unremoved.clear()
        self._warning.succeeded()

    def _write_failed(self, exc: sqlite3.Error) -> None:
        self._warning.failed("cannot write %s (%s): new samples are dropped and counted, queued ones still sent",
                             self.path, exc)

    def put(self, sample: Sample) -> bool:
        """Store a sample; evict the oldest beyond the bound, counting them. False: not stored, counted."""
        body = _encoder.encode(sample)

        def insert(db: sqlite3.Connection) -> int:
            self._last_id = db.execute("INSERT INTO samples (body) VALUES (?)", (body,)).lastrowid or self._last_id
            return 1

        with self._lock:
            try:
                self._run(lambda db: self._write(db, insert))
            except sqlite3.Error as exc:
                self._dropped += 1
                self._write_failed(exc)
                return False
            return True

    def oldest_after(self, after_id: int, limit: int) -> list[tuple[int, Sample]]:
        """Up to `limit` samples with an id above `after_id`, oldest first."""
        with self._lock:
            try:
                rows = self._run(lambda db: db.execute(
                    "SELECT id, body FROM samples WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)).fetchall())
            except sqlite3.Error as exc:
                self._warning.failed("cannot read %s (%s)", self.path, exc)
                return []
            samples, unreadable = [], []
            for row_id, body in rows:
                try:
                    samples.append((row_id, _decode(body)))
                except msgspec.DecodeError:
                    unreadable.append(row_id)
            if unreadable:
                self._drop_unreadable(unreadable)
            return samples

    def _drop_unreadable(self, row_ids: list[int]) -> None:
        """Samples the code cannot decode (written by another version?) are deleted and counted."""
        new = [i for i in row_ids if not any(first <= i <= last for first, last in self._unremoved)]
        if new:
            log.error("%s: %d queued samples cannot be read (ids %d-%d); deleting them, counted as dropped",
                      self.path, len(new), new[0], new[-1])
            self._unremoved.extend((row_id, row_id) for row_id in new)
            self._dropped += len(new)
        with contextlib.suppress(sqlite3.Error):
            self._run(lambda db: self._write(db, lambda _: 0))

    def remove(self, first_id: int, last_id: int) -> None:
        """Delete the samples with ids in [first_id, last_id] (a report's, once acknowledged)."""
        with self._lock:
            self._unremoved.append((first_id, last_id))
            try:
                self._run(lambda db: self._write(db, lambda _: 0))
            except sqlite3.Error as exc:
                self._write_failed(exc)

    def evicted(self) -> int:
        """Samples evicted or not queued, and not yet reported in an acknowledged report."""
        with self._lock:
            return self._dropped

    def forget_evicted(self, reported: int) -> None:
        """An acknowledged report said `reported` samples were evicted (kept on disk with the next write)."""
        with self._lock:
            self._dropped = max(0, self._dropped - reported)
            with contextlib.suppress(sqlite3.Error):
                self._run(lambda db: self._write(db, lambda _: 0))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
