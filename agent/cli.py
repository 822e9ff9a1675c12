"""`fleetprint agent ...` commands."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from fleetprint.cli_options import agent_config_option, log_level_option, output_option
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
    platform = host_platform()
    classifier = Classifier(config.services, ignore_case=platform.names_ignore_case)
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


@agent.command()
@agent_config_option
@log_level_option("INFO")
def service(config_path: str | None, log_level: str) -> None:
    """Run as the Windows service fleetprint-agent (the MSI registers it; docs/operations.md).

    Only the Service Control Manager starts it: from a console, use `fleetprint agent run`. Its log
    goes to agent.log in the agent's state_dir (1 MB, 3 old files kept).
    """
    from logging.handlers import RotatingFileHandler

    from fleetprint.agent.platform.windows_service import AgentService, run_as_service
    from fleetprint.logs import FORMAT, UtcIsoFormatter

    config, host_id = _load(config_path)
    Path(config.state_dir).mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(Path(config.state_dir) / "agent.log", maxBytes=1_000_000, backupCount=3,
                                  encoding="utf-8")
    handler.setFormatter(UtcIsoFormatter(FORMAT))
    logging.basicConfig(level=log_level.upper(), handlers=[handler])

    def make_service() -> AgentService:  # once the SCM hears from the service: it waits 30 s at most for that
        from fleetprint.agent.runner import Agent

        running = Agent(config, host_id)
        return AgentService(running.run, running.stop)

    try:
        raise SystemExit(run_as_service(make_service))
    except OSError as exc:
        raise click.ClickException(f"not started as a Windows service ({exc}): use `fleetprint agent run`") from None


def _only_system_reads(path: Path) -> None:
    """On Windows, let only LocalSystem and Administrators read `path` (%ProgramData%'s files are
    readable by every user by inheritance); elsewhere, mode 600."""
    import subprocess
    import sys

    if sys.platform != "win32":
        path.chmod(0o600)
        return
    command = ["icacls", str(path), "/inheritance:r", "/grant:r", "*S-1-5-18:F", "*S-1-5-32-544:F"]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        logging.getLogger("fleetprint.agent").warning("%s: its access was not restricted (%s): every user may "
                                                      "read it", path, exc)


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's (backslashes of Windows paths included)."""
    import json

    return json.dumps(value, ensure_ascii=False)


@agent.command()
@output_option("agent.toml")
@click.option("--mqtt-host", help="The broker's TLS listener, HOST or HOST:PORT (mqtt.host, "
              "mqtt.port); empty: keep the existing --output file as it is.")
@click.option("--mqtt-port", default=8883, show_default=True, type=click.IntRange(1, 65535),
              help="The broker's port when --mqtt-host gives none (mqtt.port).")
@click.option("--mqtt-ca-file", type=click.Path(dir_okay=False), help="The CA that signed the broker's "
              "certificate; copied as ca.crt beside --output (mqtt.ca_file). %VARIABLES% are expanded.")
@click.option("--mqtt-password-file", type=click.Path(dir_okay=False), help="This host's broker password "
              "(`fleetprint broker add-host`); copied as agent.secret beside --output (mqtt.password_file). "
              "%VARIABLES% are expanded, "
              "e.g. \\\\server\\share\\%COMPUTERNAME%.secret.")
@click.option("--host-id", help="The host's id and broker user (host.id; default: derived from "
              "the machine's id, as the agent does). %VARIABLES% are expanded: %COMPUTERNAME%.")
@click.option("--site", help="The host's site (host.site).")
@click.option("--zone", help="Its electricity zone, ISO 3166 alpha-3 (host.zone, e.g. FRA).")
@click.option("--department", help="The department it belongs to (host.department).")
@click.option("--windows-service", help="Also have this Windows service restarted by the "
              "system when it fails (the MSI gives fleetprint-agent).")
def configure(output: Path | None, mqtt_host: str | None, mqtt_port: int, mqtt_ca_file: str | None,
              mqtt_password_file: str | None, host_id: str | None, site: str | None, zone: str | None,
              department: str | None, windows_service: str | None) -> None:
    """Write agent.toml for a TLS broker from these settings, as the MSI does from its properties.

    Empty values are left out (an installer passes every property, set or not). Without
    --mqtt-host, an existing --output file is kept as it is (an upgrade), and none is an error.
    """
    import os
    import shutil
    import tomllib

    import msgspec

    from fleetprint.agent.config import AgentConfig
    from fleetprint.agent.inventory import derive_host_id

    if windows_service:
        from fleetprint.agent.platform.windows_service import set_restart_on_failure

        try:
            set_restart_on_failure(windows_service)
        except OSError as exc:
            logging.getLogger("fleetprint.agent").warning("%s: restart on failure not set (%s)", windows_service, exc)
    if not mqtt_host:
        if output is not None and output.exists():
            click.echo(f"{output}: kept (no --mqtt-host given)")
            return
        raise click.UsageError("--mqtt-host is needed for a new config (the MSI's BROKER property)")
    host, _, port = mqtt_host.rpartition(":") if ":" in mqtt_host else (mqtt_host, "", "")
    if port and not port.isdigit():
        raise click.BadParameter(f"{mqtt_host!r}: HOST or HOST:PORT", param_hint="--mqtt-host")
    folder = output.parent if output is not None else None
    copies = []
    for given, name, option in ((mqtt_password_file, "agent.secret", "--mqtt-password-file"),
                                (mqtt_ca_file, "ca.crt", "--mqtt-ca-file")):
        source = Path(os.path.expandvars(given)) if given else None
        if source is not None and not source.is_file():
            raise click.BadParameter(f"{source}: no such file", param_hint=option)
        copies.append((source, folder / name if folder is not None and source is not None else source))
    (secret_from, secret), (ca_from, ca) = copies
    host_id = os.path.expandvars(host_id) if host_id else derive_host_id()
    lines = ["# Written by `fleetprint agent configure`; every key: examples/agent.toml.", "[host]",
             f"id = {_toml_string(host_id)}"]
    lines += [f"{key} = {_toml_string(value)}" for key, value in
              (("site", site), ("department", department), ("zone", zone)) if value]
    lines += ["", "[mqtt]", f"host = {_toml_string(host)}", f"port = {int(port or mqtt_port)}",
              f"username = {_toml_string(host_id)}  # the broker's ACL ties the user to its host id", "tls = true"]
    if secret is not None:
        lines.append(f"password_file = {_toml_string(str(secret))}")
    if ca is not None:
        lines.append(f"ca_file = {_toml_string(str(ca))}")
    text = "\n".join(lines) + "\n"
    try:
        msgspec.convert(tomllib.loads(text), AgentConfig).check()
    except (msgspec.ValidationError, ValueError) as exc:
        raise click.ClickException(f"these settings make no valid agent.toml: {exc}") from None
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    for source, target in ((secret_from, secret), (ca_from, ca)):
        if source is not None and target is not None and source.resolve() != target.resolve():
            shutil.copyfile(source, target)
    if secret is not None and secret != secret_from:
        _only_system_reads(secret)
    partial = output.with_name(output.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(output)
    click.echo(f"{output}: written for broker {host}:{int(port or mqtt_port)}, host id {host_id}")
