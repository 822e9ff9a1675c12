"""The memory the OS can use, from /proc/meminfo."""

from __future__ import annotations

from pathlib import Path

import psutil

from fleetprint.agent.sources import read_attr

_GIB = 2**30


def read_ram_gb(root: Path = Path("/")) -> float:
    """MemTotal in GiB (2**30 bytes: the unit RAM is sold in, so a "32 GB" laptop reads about 31).
    MemTotal is what the OS can use: a little below what is installed. psutil answers for the live
    root when the file says nothing; a recorded tree without it gives 0."""
    for line in read_attr(root / "proc/meminfo").splitlines():
        key, _, value = line.partition(":")
        fields = value.split()
        if key == "MemTotal" and fields and fields[0].isdigit():
            return round(int(fields[0]) * 1024 / _GIB, 2)
    return round(psutil.virtual_memory().total / _GIB, 2) if root == Path("/") else 0.0
