"""`fleetprint doctor agent|collector`: checks a deployment and says what to fix.

Each check gives one line: its status (OK, INFO, WARN, FAIL), what it found and, when not OK,
what to do. The command exits 1 when any check FAILs. The agent's checks live in
fleetprint.agent.doctor, the collector's in fleetprint.collector.doctor, what both use (the
result type, the printer, the config and clock checks) in fleetprint.doctor_checks; this module
is the command, and loads a side's checks only when that side is checked.
"""

from __future__ import annotations

import click

from fleetprint.cli_options import agent_config_option, collector_config_option
from fleetprint.doctor_checks import report


@click.group()
def doctor() -> None:
    """Check a deployment: config, broker, TLS, database, power sources, clock. Exits 1 on a FAIL."""


@doctor.command("agent")
@agent_config_option
@click.option("--clock-url", default=None, help="Compare this machine's clock with this HTTP server's Date header.")
@click.option("--root", type=click.Path(file_okay=False), default="/", show_default=True,
              help="Read /sys and /proc under this directory (a recorded machine).")
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(0.1, 120), help="Seconds per probe.")
def doctor_agent(config_path: str | None, clock_url: str | None, root: str, timeout: float) -> None:
    """Check this machine's agent: config, broker, credentials, TLS, power sources, state, clock."""
    from pathlib import Path

    from fleetprint.agent.doctor import agent_checks

    raise SystemExit(report(agent_checks(config_path, clock_url, Path(root), timeout)))


@doctor.command("collector")
@collector_config_option
@click.option("--timeout", default=5.0, show_default=True, type=click.FloatRange(0.1, 120), help="Seconds per probe.")
def doctor_collector(config_path: str | None, timeout: float) -> None:
    """Check a collector: config, broker, credentials, TLS, InfluxDB rights, clock."""
    from fleetprint.collector.doctor import collector_checks

    raise SystemExit(report(collector_checks(config_path, timeout)))
