"""The on-disk queue: order, bound with counted eviction, survival of a killed process, a damaged
file, and a file that cannot be written."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest

from fleetprint.agent.buffer import SampleBuffer
from fleetprint.agent.state import SequenceFile
from fleetprint.schema import REPORT_SCHEMA, Report, Sample, encode_report

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def sample(i: int) -> Sample:
    return Sample(ts=T0 + timedelta(seconds=30 * i), interval_s=30, cpu_util_pct=float(i % 100))


def test_oldest_first_and_removal(tmp_path: Path) -> None:
    buffer = SampleBuffer(tmp_path / "b.sqlite3", max_samples=100)
    for i in range(10):
        buffer.put(sample(i))
    first = buffer.oldest_after(0, 4)
    assert [s for _, s in first] == [sample(i) for i in range(4)]
    rest = buffer.oldest_after(first[-1][0], 100)
    assert [s for _, s in rest] == [sample(i) for i in range(4, 10)]
    buffer.remove(first[0][0], first[-1][0])
    assert len(buffer) == 6
    assert [s for _, s in buffer.oldest_after(0, 100)] == [sample(i) for i in range(4, 10)]


def test_bound_evicts_the_oldest_and_counts_them(tmp_path: Path) -> None:
    buffer = SampleBuffer(tmp_path / "b.sqlite3", max_samples=10)
    for i in range(25):
        buffer.put(sample(i))
    assert len(buffer) == 10
    assert [s for _, s in buffer.oldest_after(0, 100)] == [sample(i) for i in range(15, 25)]
    assert buffer.evicted() == 15
    buffer.forget_evicted(15)
    assert buffer.evicted() == 0


def test_samples_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    code = f"""
import os, sys
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_buffer import sample
from fleetprint.agent.buffer import SampleBuffer
buffer = SampleBuffer(Path({str(path)!r}), max_samples=1000)
for i in range(50):
    buffer.put(sample(i))
print("stored", flush=True)
os.kill(os.getpid(), 9)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == -9 and "stored" in result.stdout, result.stderr
    reopened = SampleBuffer(path, max_samples=1000)
    assert len(reopened) == 50
    assert [s for _, s in reopened.oldest_after(0, 100)] == [sample(i) for i in range(50)]


def damage_with_garbage(path: Path) -> None:
    path.write_bytes(b"\x89garbage, not a database " * 200)


def damage_by_truncation(path: Path) -> None:
    buffer = SampleBuffer(path, max_samples=1000)
    for i in range(300):
        buffer.put(sample(i))
    buffer.close()
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


@pytest.mark.parametrize("damage", [damage_with_garbage, damage_by_truncation])
def test_a_damaged_queue_is_moved_aside_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture, damage) -> None:
    path = tmp_path / "buffer.sqlite3"
    damage(path)
    damaged = path.read_bytes()
    with caplog.at_level(logging.ERROR):
        buffer = SampleBuffer(path, max_samples=100)
    [aside] = tmp_path.glob("buffer.sqlite3.corrupt-*[0-9Z]")
    assert aside.read_bytes() == damaged
    [error] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert str(path) in error and str(aside) in error
    assert len(buffer) == 0
    assert buffer.put(sample(1))
    assert [s for _, s in buffer.oldest_after(0, 10)] == [sample(1)]


def test_damage_found_while_running_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The file is damaged under a running queue: the samples in it are counted as dropped, a fresh
    queue takes over, and its ids continue above the old ones (reports in flight keep theirs)."""
    path = tmp_path / "buffer.sqlite3"
    buffer = SampleBuffer(path, max_samples=1000)
    for i in range(300):
        buffer.put(sample(i))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as handle:  # every page but the first
        handle.seek(4096)
        handle.write(b"\xa5" * (path.stat().st_size - 4096))
    other.execute("PRAGMA user_version = 1")  # a write elsewhere: the queue reads its pages again
    other.close()
    with caplog.at_level(logging.ERROR):
        assert buffer.oldest_after(0, 10) == []
    [error] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "malformed" in error and "300 queued samples lost" in error and str(path) in error
    assert buffer.evicted() == 300, "reported as dropped"
    assert buffer.put(sample(300))
    [(row_id, _)] = buffer.oldest_after(0, 10)
    assert row_id > 300


def test_samples_this_version_cannot_read_are_dropped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "buffer.sqlite3"
    buffer = SampleBuffer(path, max_samples=100)
    buffer.put(sample(0))
    buffer.close()
    with contextlib.closing(sqlite3.connect(path)) as other, other:  # as another version wrote it
        other.execute("INSERT INTO samples (body) VALUES (?)", (b'{"ts": "yesterday"}',))
    buffer = SampleBuffer(path, max_samples=100)
    buffer.put(sample(2))
    assert [s for _, s in buffer.oldest_after(0, 10)] == [sample(0), sample(2)]
    assert buffer.evicted() == 1 and len(buffer) == 2


def test_samples_an_earlier_release_queued_are_sent_with_their_cpu_shares(tmp_path: Path) -> None:
    """Queued by an agent of an earlier release (report schema 1: CPU shares as `services`), read
    by this one after its upgrade, sent as report schema 2."""
    path = tmp_path / "buffer.sqlite3"
    SampleBuffer(path, max_samples=100).close()
    shares = {"web": 0.25}
    with contextlib.closing(sqlite3.connect(path)) as other, other:
        other.execute("INSERT INTO samples (body) VALUES (?)", (json.dumps({
            "ts": T0.isoformat(), "interval_s": 30, "cpu_util_pct": 0.0, "services": shares}).encode(),))
    buffer = SampleBuffer(path, max_samples=100)
    buffer.put(msgspec.structs.replace(sample(1), cpu_shares=shares))
    queued = [s for _, s in buffer.oldest_after(0, 10)]
    assert [type(s) for s in queued] == [Sample, Sample] and buffer.evicted() == 0
    assert queued == [msgspec.structs.replace(sample(0), cpu_shares=shares),
                      msgspec.structs.replace(sample(1), cpu_shares=shares)]
    sent = json.loads(encode_report(Report(host_id="h", seq=1, samples=queued)))
    assert sent["schema"] == REPORT_SCHEMA and [s["cpu_shares"] for s in sent["samples"]] == [shares, shares]


UNWRITABLE = """
import json, resource, signal, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from test_buffer import sample
from fleetprint.agent.buffer import SampleBuffer
from fleetprint.agent.state import SequenceFile

state = Path({state!r})
buffer = SampleBuffer(state / "buffer.sqlite3", max_samples=1000)
sequence = SequenceFile(state / "seq", reserve=5)
for i in range(10):
    buffer.put(sample(i))
seqs = [sequence.next()]
buffer.close()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))  # every write fails (EFBIG), as on a full disk
buffer = SampleBuffer(state / "buffer.sqlite3", max_samples=1000)  # restarted on a full disk
queued = [buffer.put(sample(i)) for i in range(10, 30)]
sent = buffer.oldest_after(0, 100)
seqs += [sequence.next() for _ in range(20)]
buffer.remove(sent[0][0], sent[4][0])
still_sent = [row_id for row_id, _ in buffer.oldest_after(sent[4][0], 100)]
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
queued.append(buffer.put(sample(30)))
seqs.append(sequence.next())
print(json.dumps(dict(queued=queued, sent=len(sent), still_sent=len(still_sent), seqs=seqs,
                      left=len(buffer), dropped=buffer.evicted())))
"""


def test_a_queue_that_cannot_be_written_still_sends_and_counts(tmp_path: Path) -> None:
    """No write succeeds for a while (a file size limit of 0: EFBIG, which any user can set, where
    tests/test_faults.py fills a real filesystem), from a restart on: what is queued is still read and
    sent, new samples are counted as dropped, numbers go on, and all recovers when writing works again."""
    code = UNWRITABLE.format(tests=str(Path(__file__).parent), state=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["queued"] == [False] * 20 + [True]
    assert outcome["sent"] == 10 and outcome["still_sent"] == 5
    assert outcome["dropped"] == 20
    assert outcome["left"] == 5 + 1, "the acknowledged ones deleted with the first write that worked"
    seqs = outcome["seqs"]
    assert seqs == sorted(set(seqs)) and SequenceFile(tmp_path / "seq").next() > seqs[-1]
    assert result.stderr.count("cannot write") == 2, "one line per file, not one per sample"
    assert "opened for this process alone" in result.stderr, "no shared-memory file to create on a full disk"
