"""The registered power sources, and the `[power]` config section they make up together.

Each source module declares a `SOURCE` (agent/power/base.py, `PowerSourceType`); `_MODULES`
lists them in the order they are read, which decides the source of a channel two give (IPMI's
"wall" before Redfish's) and the order of the inventory's power_sources. Adding a source is a
module and one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

import msgspec

from fleetprint.agent.power.base import PowerSourceType

_MODULES = ("rapl", "nvml", "battery", "battery_windows", "battery_macos", "ipmi", "redfish")
SOURCE_TYPES: tuple[PowerSourceType, ...] = tuple(
    importlib.import_module(f"{__package__}.{module}").SOURCE for module in _MODULES)


def _check(self: msgspec.Struct) -> None:
    """Each section's own rules (ValueError naming `power.<source>.<key>`)."""
    for source in SOURCE_TYPES:
        check = getattr(getattr(self, source.name, None), "check", None)
        if check is not None:
            try:
                check()
            except ValueError as exc:
                raise ValueError(f"power.{source.name}.{exc}") from None


# The `[power]` section: one `[power.<name>]` table per source that has settings.
PowerSettings = msgspec.defstruct(
    "PowerSettings",
    [(source.name, source.settings, msgspec.field(default_factory=source.settings))
     for source in SOURCE_TYPES if source.settings is not None],
    namespace={"check": _check, "__doc__": "The `[power]` section: one table per power source that has settings."},
    module=__name__,
    forbid_unknown_fields=True,
)


def upgrade_flat_keys(tree: dict[str, Any]) -> list[str]:
    """Move the flat `[power]` keys of earlier releases (`ipmi = true`, `redfish_url`, ...) of a
    config's raw tree into their sources' sections, in place; a deprecation message for each.
    Raises ValueError ("<key>: <reason>") for a key given both ways."""
    power = tree.get("power")
    if not isinstance(power, dict):
        return []
    messages = []
    for source in SOURCE_TYPES:
        for old, new in source.renamed.items():
            if old not in power or (old == source.name and isinstance(power[old], dict)):
                continue  # absent, or the section that took the key's name
            value = power.pop(old)
            section = power.setdefault(source.name, {})
            if not isinstance(section, dict):
                continue  # not a table: validation names it
            if new in section:
                raise ValueError(f"power.{old}: also given as [power.{source.name}] {new}: keep only the latter")
            section[new] = value
            messages.append(f"power.{old} is deprecated: use [power.{source.name}] {new}")
    return messages
