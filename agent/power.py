"""The agent's measured power sources, built from the config: statuses for the inventory and one
merged reading per sample."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from fleetprint.agent.config import PowerSettings
from fleetprint.agent.sources import NotConfigured, PowerSource
from fleetprint.agent.sources.battery import BatterySource
from fleetprint.agent.sources.ipmi import IpmiSource
from fleetprint.agent.sources.nvml import NvmlSource
from fleetprint.agent.sources.rapl import RaplSource
from fleetprint.schema import Watts

log = logging.getLogger(__name__)
_MAX_STATUS_CHARS = 256  # the inventory's ShortText
_MAX_WATTS: float = Watts.__metadata__[0].le  # the wire schema's bound: beyond it a sample is rejected


class PowerReader:
    """Reads every source; a channel two sources give (IPMI and Redfish both give "wall") is
    taken from the first that has it, in the order of `sources`."""

    def __init__(self, sources: list[PowerSource]) -> None:
        self.sources = sources

    def statuses(self) -> dict[str, str]:
        """Each source's status, for the inventory's power_sources."""
        return {source.name: source.status()[:_MAX_STATUS_CHARS] for source in self.sources}

    def read(self) -> dict[str, float]:
        """Mean watts per channel since the previous read, over all sources."""
        merged: dict[str, float] = {}
        for source in self.sources:
            for channel, watts in source.read().items():
                if channel in merged:
                    continue
                if math.isfinite(watts) and 0.0 <= watts <= _MAX_WATTS:
                    merged[channel] = watts
                else:
                    log.warning("power source %s: %s = %r W is not plausible, left out", source.name, channel, watts)
        return merged


def _redfish(settings: PowerSettings) -> PowerSource:
    """The Redfish source, imported only when configured (its HTTP stack costs ~2 MB resident)."""
    if not settings.redfish_url:
        return NotConfigured("redfish")
    from fleetprint.agent.sources.redfish import RedfishSource

    return RedfishSource(settings.redfish_url, settings.redfish_chassis, settings.redfish_username,
                         settings.redfish_password_file, settings.redfish_verify_tls, settings.redfish_ca_file)


def power_reader_for(settings: PowerSettings, root: Path = Path("/")) -> PowerReader:
    """Every source the agent knows, the BMC ones only when configured."""
    return PowerReader([
        RaplSource(root),
        NvmlSource(root),
        BatterySource(root),
        IpmiSource() if settings.ipmi else NotConfigured("ipmi"),
        _redfish(settings),
    ])
