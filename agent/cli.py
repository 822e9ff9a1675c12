"""`fleetprint agent ...` commands."""

from __future__ import annotations

import logging
import time

import click

from fleetprint.cli_options import agent_config_option, log_level_option
from fleetprint.config import ConfigError
from fleetprint.health import exit_with_health, health_options
from fleetprint.logs import configure_logging


def _load_config(config_path: str | None):
    from fleetprint.agent.config import load_agent_config

    try:
        return load_agent_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _load(config_path: str | None):
    from fleetprint.agent.inventory import derive_host_id

    config = _load_config(config_path)
    return config, config.host.id or derive_host_id()


@click.group()
def agent() -> None:
    """The agent: reports this machine's inventory and usage to the broker."""


@agent.command()
@agent_config_option
@log_level_option("INFO")
def run(config_path: str | None, log_level: str) -> None:
    """Sample and publish until SIGTERM or Ctrl-C."""
    configure_logging(log_level.upper())

    from fleetprint.agent.runner import Agent
    from fleetprint.config import world_readable

    config, host_id = _load(config_path)
    if config_path and config.mqtt.password and world_readable(config_path):
        logging.getLogger("fleetprint.agent").warning("%s holds a password and is readable by every user: chmod 600 it",
                                                      config_path)
    raise SystemExit(Agent(config, host_id).run())


@agent.command()
@agent_config_option
@health_options
def health(config_path: str | None, max_age: float | None, ready: bool) -> None:
    """Exit 0 if the agent running with this config samples on time, else 1; one line says why.

    It reads the file the agent rewrites after each sample (health.json in its state_dir). A
    broker outage is reported, not failed: the agent queues on disk meanwhile.
    """
    exit_with_health(_load_config(config_path).health_file, "agent", max_age, ready)


@agent.command()
@agent_config_option
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="Seconds the usage sample covers.")
def once(config_path: str | None, interval: float) -> None:
    """Print one inventory and one report as JSON, with no broker: what the agent would send."""
    from fleetprint.agent.inventory import collect_inventory
    from fleetprint.agent.power import power_reader_for
    from fleetprint.agent.sampler import sampler_for
    from fleetprint.schema import Report, encode, encode_report

    config, host_id = _load(config_path)
    power = power_reader_for(config.power)
    sampler = sampler_for(config.services, power)  # reads the power sources once: their statuses are known
    # JSON as bytes: UTF-8 whatever the console's code page (cp1252 on a German Windows).
    click.echo(encode(collect_inventory(config.host, host_id, power_sources=power.statuses())))
    time.sleep(interval)  # the sample measures usage over this window
    click.echo(encode_report(Report(host_id=host_id, seq=0, samples=[sampler.take()])))


@agent.command()
@agent_config_option
def inventory(config_path: str | None) -> None:
    """Print this machine's inventory as JSON."""
    from fleetprint.agent.inventory import collect_inventory
    from fleetprint.agent.power import power_reader_for
    from fleetprint.schema import encode

    config, host_id = _load(config_path)
    statuses = power_reader_for(config.power).statuses()
    click.echo(encode(collect_inventory(config.host, host_id, power_sources=statuses)))  # UTF-8, as in `once`


@agent.command()
@agent_config_option
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="Seconds over which each service's CPU share is measured.")
def services(config_path: str | None, interval: float) -> None:
    """Show which running processes map to which service now, and each service's CPU share."""
    import psutil

    from fleetprint.agent.platform import host_platform
    from fleetprint.agent.service_cpu import ServiceCpu
    from fleetprint.agent.services import Classifier

    config, _ = _load(config_path)
    classifier = Classifier(config.services)
    platform = host_platform()
    rows = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            facts = platform.process_facts(process.pid)
        except psutil.NoSuchProcess:  # ended meanwhile
            continue
        rows.append((classifier.service_of(facts), process.pid, facts.name,
                     facts.systemd_unit or facts.container_id[:12], facts.cmdline))
    rows.sort(key=lambda row: (row[0] == classifier.catch_all, row[0], row[1]))
    click.echo(f"{'service':<20} {'pid':>7}  {'name':<16} {'unit/container':<28} command line")
    for service, pid, name, where, cmdline in rows:
        click.echo(f"{service:<20} {pid:>7}  {name[:16]:<16} {where[:28]:<28} {cmdline[:80]}")
    if not classifier.has_rules:
        click.echo(f"\nNo [[services.rule]] in the config: every process counts as {classifier.catch_all!r}, "
                   "and the agent does not scan processes.")
        return
    service_cpu = ServiceCpu(classifier, platform)
    time.sleep(interval)  # the shares are measured over this window
    shares = service_cpu.shares(interval)
    click.echo(f"\nCPU share of the host over {interval:g} s:")
    for service, share in sorted(shares.items(), key=lambda item: -item[1]):
        click.echo(f"  {service:<20} {share * 100:6.2f} %")
