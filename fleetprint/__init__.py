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
from importlib.metadata import version

__version__ = version("fleetprint")  # set at build time from the git tag (pyproject.toml)
