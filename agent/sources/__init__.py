"""The files the agent reads on Linux, one module per source, each under a root ("/" live, a
recorded tree in tests) and degrading to an empty result when the source is absent:
cpuinfo (/proc/cpuinfo), dmi (/sys/class/dmi/id), block (/sys/block), gpu (/sys/bus/pci),
displays (/sys/class/drm, each EDID read by edid),
virt (DMI, cpuinfo, container marks), battery (/sys/class/power_supply), meminfo, os_release,
identity (machine id, hostname) and processes (/proc/PID).

They sit behind the platform layer: agent/platform/linux.py puts them together as the Linux
`Platform`, and the rest of the agent reads the machine through that interface. The measured
power sources are in agent/power.
"""

from __future__ import annotations

from pathlib import Path


def read_attr(path: Path) -> str:
    """A small text file's content, stripped; "" when missing, unreadable or not a file."""
    try:
        return path.read_bytes().decode("utf-8", "replace").strip("\x00 \t\r\n")
    except OSError:
        return ""
