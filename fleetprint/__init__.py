"""fleetprint: energy and carbon footprint of an IT fleet, service by service.

This folder holds what the agent and the collector share, at the bottom of the layers
(docs/architecture.md, "Layers"): the wire messages (`schema`) and time as stored
(`timestamps`); the config loader (`config`), MQTT settings and client (`mqtt`), logging
(`logs`), heartbeat files (`health`), outage logs (`reach`), the commands' common options
(`cli_options`), the collectors' rights in the broker's ACL (`broker_acl`); and at the top, what
faces the operator: the broker's credentials (`broker`), `fleetprint doctor` (`doctor`, over
`doctor_checks` and `doctor_broker`) and the `fleetprint` command itself (`cli`). Data flows
from agent/ through the broker to collector/, then to dashboards/ and report/; `cli` loads each
side's command only when it runs, so the agent never loads the collector's code.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable

_DIST_INFO = ("fleetprint-", ".dist-info")


def installed_version(paths: Iterable[str] | None = None) -> str:
    """The installed distribution's version, set at build time from the git tag (pyproject.toml).

    Read from the name of its `fleetprint-<version>.dist-info` folder on the import path (the
    wheel format names it so): importlib.metadata, which reads the same, imports email, zipfile
    and csv, ~5 MB of the agent's resident memory (docs/performance.md); it is used only when
    there is no such folder."""
    head, tail = _DIST_INFO
    for entry in sys.path if paths is None else paths:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            found = name[len(head):-len(tail)]
            if name.startswith(head) and name.endswith(tail) and found and "-" not in found:
                return found
    from importlib.metadata import version
    return version("fleetprint")


__version__ = installed_version()
