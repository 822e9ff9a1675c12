"""The OS's name: PRETTY_NAME from os-release(5) and the kernel release from /proc."""

from __future__ import annotations

import platform
import shlex
from pathlib import Path

from fleetprint.agent.sources import read_attr


def read_os_name(root: Path = Path("/")) -> str:
    """The distribution and the kernel release, e.g. "Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64"."""
    kernel = read_attr(root / "proc/sys/kernel/osrelease")
    if not kernel and root == Path("/"):
        kernel = platform.release()
    return ", kernel ".join(part for part in (_pretty_name(root), kernel) if part)


def _pretty_name(root: Path) -> str:
    """PRETTY_NAME from os-release(5) (in /etc, else /usr/lib), its shell quoting undone."""
    text = read_attr(root / "etc/os-release") or read_attr(root / "usr/lib/os-release")
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "PRETTY_NAME":
            try:
                return " ".join(shlex.split(value))
            except ValueError:  # unbalanced quotes
                return value.strip("\"' ")
    return ""
