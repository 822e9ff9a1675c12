"""What identifies the installation: /etc/machine-id and the kernel's hostname."""

from __future__ import annotations

import socket
from pathlib import Path

from fleetprint.agent.sources import read_attr


def read_machine_id(root: Path = Path("/")) -> str:
    """/etc/machine-id, lowercased; "" when missing (its format is the caller's to check)."""
    return read_attr(root / "etc/machine-id").lower()


def read_hostname(root: Path = Path("/")) -> str:
    """The kernel's hostname; on the live root, the C library's when /proc does not say."""
    hostname = read_attr(root / "proc/sys/kernel/hostname")
    if not hostname and root == Path("/"):
        hostname = socket.gethostname()
    return hostname
