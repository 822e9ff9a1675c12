"""The on-disk queue: order, bound with counted eviction, and survival of a killed process."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fleetprint.agent.buffer import SampleBuffer
from fleetprint.schema import Sample

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
