"""The report sequence number only grows: across restarts, a file that cannot be written, a damaged file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fleetprint.agent.state import SequenceFile


def test_numbers_grow_across_restarts_and_the_file_is_written_once_per_block(tmp_path: Path) -> None:
    path = tmp_path / "seq"
    first = SequenceFile(path, reserve=10, clock_ms=lambda: 1000)
    assert [first.next() for _ in range(25)] == list(range(1001, 1026))
    assert path.read_text() == "1030", "reserved ahead, a block at a time"
    assert SequenceFile(path, reserve=10, clock_ms=lambda: 500).next() == 1031, "above the file: the clock is behind"
    assert SequenceFile(path, reserve=10, clock_ms=lambda: 9000).next() == 9001, "above the clock when it is ahead"


def test_numbers_that_could_not_be_kept_are_not_used_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The file cannot be written (here: a directory where its temporary file should go): numbers
    go on, one error line says so, and the next start is above them (it starts above the clock)."""
    path = tmp_path / "seq"
    first = SequenceFile(path, reserve=5, clock_ms=lambda: 1000)
    first.next()
    (tmp_path / "seq.tmp").mkdir()
    with caplog.at_level(logging.ERROR, "fleetprint.agent.state"):
        used = [first.next() for _ in range(20)]
    assert used == list(range(1002, 1022))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and str(path) in errors[0], errors
    assert path.read_text() == "1005", "the last ceiling written"
    restarted = SequenceFile(path, reserve=5, clock_ms=lambda: 1000 + 20 * 30_000)  # 20 reports 30 s apart
    assert restarted.next() > max(used)


def test_a_damaged_file_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "seq"
    path.write_bytes(b"\x00\x00\xff7")
    with caplog.at_level(logging.ERROR, "fleetprint.agent.state"):
        sequence = SequenceFile(path, clock_ms=lambda: 1_800_000_000_000)
    assert sequence.next() == 1_800_000_000_001, "above the clock: above any number sent before"
    [aside] = tmp_path.glob("seq.corrupt-*")
    assert aside.read_bytes() == b"\x00\x00\xff7"
    [error] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert str(path) in error and str(aside) in error
