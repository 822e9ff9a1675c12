"""The monitors a Linux machine drives, from the EDIDs its DRM connectors read.

Each connector is a /sys/class/drm/card<N>-<type>-<M> directory with `status` ("connected")
and `edid` (empty when nothing answers). A laptop's own panel is on an embedded connector
(eDP, LVDS, DSI): reported, marked `builtin`. A monitor seen twice (cloned outputs, two GPUs'
connectors to one screen) is reported once, by maker, model and serial.
"""

from __future__ import annotations

from pathlib import Path

from fleetprint.agent.sources import read_attr
from fleetprint.agent.sources.edid import parse_edid
from fleetprint.schema import Monitor

_EMBEDDED_CONNECTORS = ("eDP", "LVDS", "DSI")
_MAX_EDID_BYTES = 32 * 1024  # a base block and extensions; more is no EDID


def read_monitors(root: Path = Path("/")) -> list[Monitor]:
    """The connected monitors, in connector order."""
    monitors: list[Monitor] = []
    seen: set[tuple[str, str, str]] = set()
    for connector in sorted((root / "sys/class/drm").glob("card*-*")):
        if read_attr(connector / "status") != "connected":
            continue
        try:
            with open(connector / "edid", "rb") as handle:
                edid = handle.read(_MAX_EDID_BYTES)
        except OSError:
            continue
        kind = connector.name.split("-", 2)[1]
        monitor = parse_edid(edid, builtin=kind.startswith(_EMBEDDED_CONNECTORS))
        if monitor is None:
            continue
        key = (monitor.maker, monitor.model, monitor.serial)
        if monitor.serial and key in seen:
            continue
        seen.add(key)
        monitors.append(monitor)
    return monitors
