"""Where the agent's readings come from on Linux: one module per source, each reading files under a
root ("/" live, a recorded tree in tests) and degrading to an empty result when the source is
absent. agent/platform/linux.py puts the inventory's readers together as the Linux `Platform`.

Measured power sources (rapl, nvml, battery, ipmi, redfish) share `PowerSource`: `read()` gives
the mean watts per channel of `fleetprint.schema.POWER_CHANNELS` since the previous read, and
`status()` says "ok" or why the source gives nothing, as "<kind>: <reason>" with kind one of
absent, denied, not installed, no driver, unsupported, unreachable, untrusted, no reading,
error; or "not configured" for a BMC source the config does not name.
"""

from __future__ import annotations

import abc
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def read_attr(path: Path) -> str:
    """A small text file's content, stripped; "" when missing, unreadable or not a file."""
    try:
        return path.read_bytes().decode("utf-8", "replace").strip("\x00 \t\r\n")
    except OSError:
        return ""


class Unavailable(Exception):
    """Why a power source gives no reading now; the message is the source's status."""


class PowerSource(abc.ABC):
    """A measured power source. Subclasses set `name` and implement `_read`, which returns watts
    per channel or raises Unavailable; an empty result with status "ok" means "nothing to
    report this time" (a counter's first read, a battery that is not discharging)."""

    name: str

    def __init__(self) -> None:
        self._status = ""  # until the first read

    def status(self) -> str:
        """"ok", or why the source is not read; reads once if it never was."""
        if not self._status:
            self.read()
        return self._status

    def read(self) -> dict[str, float]:
        """Mean watts per channel since the previous read; empty when nothing valid."""
        try:
            watts = self._read()
            status = "ok"
        except Unavailable as exc:
            watts, status = {}, str(exc)
        except Exception as exc:  # a surprise in one source must not cost the sample
            log.warning("power source %s failed", self.name, exc_info=True)
            watts, status = {}, f"error: {type(exc).__name__}: {exc}"
        if status != self._status:
            log.info("power source %s: %s", self.name, status)
            self._status = status
        return watts

    @abc.abstractmethod
    def _read(self) -> dict[str, float]:
        """Watts per channel, or raise Unavailable with the reason."""


class NotConfigured(PowerSource):
    """A source that needs settings the config does not give (the BMC sources)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def _read(self) -> dict[str, float]:
        raise Unavailable("not configured")
