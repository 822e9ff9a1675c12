"""A small real filesystem that a test fills and frees: a full disk, with the kernel's ENOSPC.

A tmpfs of a fixed size, mounted for the test; mounting needs CAP_SYS_ADMIN (root, as in CI),
else the test skips. tests/agent/test_buffer.py checks the same paths for any user with a
file size limit instead (EFBIG).
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest


class SmallDisk:
    """A tmpfs of `size_bytes` at `path`, with a filler file that takes all its free space."""

    def __init__(self, path: Path, size_bytes: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "fleetprint-test", str(path)],
                                 capture_output=True, text=True)
        if mounted.returncode:
            pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.strip()}")
        self.path = path
        self._filler = path / "filler"

    def fill(self) -> None:
        """Write the filler until the filesystem has not a byte left."""
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            chunk = 1 << 16
            while chunk:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    chunk //= 2
        finally:
            os.close(fd)

    def free(self) -> None:
        self._filler.unlink()

    def unmount(self) -> None:
        subprocess.run(["umount", "--lazy", str(self.path)], check=True)
