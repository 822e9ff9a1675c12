"""The agent's measured power: the registered sources, built for the host's platform from the
config's `[power.<name>]` sections, give statuses for the inventory and one merged reading per sample.

Layout: `base` (what a source is and how it registers), `registry` (the sources in their order,
the `[power]` section they make up), one module per source: `rapl`, `nvml`, `battery`, `ipmi`,
`redfish`. A source registered for other platforms than the host's is not built.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from fleetprint.agent.platform import LIVE_ROOT, host_platform
from fleetprint.agent.power.base import PowerSource
from fleetprint.agent.power.registry import SOURCE_TYPES, PowerSettings
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


def power_reader_for(settings: PowerSettings, root: Path = LIVE_ROOT) -> PowerReader:
    """Every registered source that reads the host's platform, each from its section."""
    platform = host_platform(root)
    return PowerReader([source.build(getattr(settings, source.name, None), platform)
                        for source in SOURCE_TYPES if source.runs_on(platform)])
