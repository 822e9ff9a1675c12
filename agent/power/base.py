"""What every power source is (`PowerSource`) and how its module registers it (`PowerSourceType`)."""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from fleetprint.agent.platform import Platform

log = logging.getLogger(__name__)


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
    """An opt-in source its config section does not turn on."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def _read(self) -> dict[str, float]:
        raise Unavailable("not configured")


@dataclass(frozen=True)
class PowerSourceType:
    """A power source as its module registers it (the module's `SOURCE`)."""

    name: str  # its key in the inventory's power_sources, and its section: [power.<name>]
    build: Callable[[Any, Platform], PowerSource]  # from its section (None without one) and the host's platform
    settings: type[msgspec.Struct] | None = None  # its section's type, if it has settings
    platforms: frozenset[str] | None = None  # the platforms it reads (Platform.name); None: every one
    opt_in: bool = False  # read only when its section turns it on; then a source that cannot be read is a fault
    # Its settings' flat keys in [power] before they moved to its section (`redfish_url` -> `url`),
    # accepted with a deprecation warning.
    renamed: Mapping[str, str] = field(default_factory=dict)

    def runs_on(self, platform: Platform) -> bool:
        return self.platforms is None or platform.name in self.platforms
