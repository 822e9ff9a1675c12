"""`fleetprint simulate`: a simulated fleet publishing through the broker, live or as a backfill."""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
import msgspec
from tqdm import tqdm

from fleetprint.cli_options import log_level_option
from fleetprint.config import ConfigError, load_config
from fleetprint.logs import configure_logging
from fleetprint.mqtt import MqttSettings
from fleetprint.simulator.fleet import FleetSpec, generate_fleet
from fleetprint.simulator.publisher import MAX_IN_FLIGHT, Plan, expected_messages, run

log = logging.getLogger("fleetprint.simulator")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+)([smhdw])")
_KIND_NAMES = {"server": "server", "vm": "VM", "desktop": "desktop", "laptop": "laptop", "thin_client": "thin client"}
_MQTT_DEFAULTS = MqttSettings()


class Duration(click.ParamType):
    """A duration like 90s, 15m, 2h, 3d, 2w or 1d12h, in seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        parts = _DURATION.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text or not (seconds := sum(
                int(n) * _UNITS[u] for n, u in parts)):
            self.fail(f"{value!r} is not a duration like 90s, 15m, 2h, 3d, 2w or 1d12h", param, ctx)
        return seconds


class SimulatorConfig(msgspec.Struct):
    """The simulator reads only the [mqtt] section: an agent's or a collector's TOML will do."""

    mqtt: MqttSettings = msgspec.field(default_factory=MqttSettings)


def _kind_shares(text: str) -> dict[str, float]:
    try:
        return {kind.strip(): float(share) for kind, share in (item.split("=") for item in text.split(","))}
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected kind=share pairs, e.g. server=35,vm=30,desktop=20,laptop=15",
                                 param_hint="--kinds") from None


@click.command()
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False),
              help="TOML with an [mqtt] section (an agent's or collector's config will do; "
                   "FLEETPRINT_SIMULATOR_MQTT__* variables override).")
@click.option("--mqtt-host", help=f"Broker host (mqtt.host; default {_MQTT_DEFAULTS.host}).")
@click.option("--mqtt-port", type=click.IntRange(1, 65535),
              help=f"Broker port (mqtt.port; default {_MQTT_DEFAULTS.port}).")
@click.option("--mqtt-username", help="Broker user name (mqtt.username).")
@click.option("--mqtt-password-file", type=click.Path(dir_okay=False, exists=True),
              help="File holding the broker password (mqtt.password_file).")
@click.option("--mqtt-tls", is_flag=True, default=None, help="Connect with TLS (mqtt.tls).")
@click.option("--mqtt-ca-file", type=click.Path(dir_okay=False, exists=True),
              help="CA certificates for TLS (mqtt.ca_file).")
@click.option("--mqtt-topic-prefix", help=f"Topic prefix (mqtt.topic_prefix; default {_MQTT_DEFAULTS.topic_prefix}).")
@click.option("--hosts", "host_count", default=50, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Number of simulated hosts.")
@click.option("--seed", default=1, show_default=True, help="The same seed gives the same fleet and the same samples.")
@click.option("--kinds", default="server=35,vm=30,desktop=20,laptop=15", show_default=True,
              help="Shares of each kind of machine (server, vm, desktop, laptop, thin_client).")
@click.option("--workstation-hours", is_flag=True,
              help="Desktops, laptops and thin clients report only while on (weekdays in office hours; one in ten "
                   "desktops never off), as agents of machines off or asleep do; else around the clock.")
@click.option("--interval", default=30, show_default=True, type=click.IntRange(1, 86_400),
              help="Seconds each sample covers.")
@click.option("--estate", "estate_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write the fleet's devices without an agent (phones, printers, switches, ...) as an asset "
                   "register CSV to this file, for `fleetprint assets import` (docs/simulator.md).")
@click.option("--backfill", type=Duration(), help="Send the history of this long ago up to now (e.g. 6h, 14d).")
@click.option("--to", "until", type=click.DateTime(("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")),
              help="With --backfill: the history ends at this UTC time (e.g. 2026-10-31T23:00) instead of now.")
@click.option("--live", is_flag=True, help="After --backfill, go on live (live is the default without --backfill).")
@click.option("--duration", type=Duration(), help="Stop live mode after this long (default: at Ctrl-C).")
@click.option("--samples-per-report", default=120, show_default=True, type=click.IntRange(1, 2880),
              help="Samples per backfill report.")
@click.option("--rate", default=1000.0, show_default=True, type=click.FloatRange(min=0),
              help="Messages per second, over all processes (0: unlimited).")
@click.option("--max-in-flight", default=1000, show_default=True, type=click.IntRange(1, MAX_IN_FLIGHT),
              help="Unacknowledged messages per connection.")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Publishing processes, each with its share of the hosts and of the rate.")
@log_level_option("WARNING")
def simulate(config_path: str | None, mqtt_host: str | None, mqtt_port: int | None, mqtt_username: str | None,
             mqtt_password_file: str | None, mqtt_tls: bool | None, mqtt_ca_file: str | None,
             mqtt_topic_prefix: str | None, host_count: int,
             seed: int, kinds: str, interval: int, estate_path: str | None, backfill: int | None,
             until: datetime | None, live: bool, duration: int | None,
             samples_per_report: int, rate: float, max_in_flight: int, processes: int, log_level: str,
             workstation_hours: bool = False) -> None:
    """Publish a simulated fleet's inventories and reports through the broker, with the agent's wire format.

    \b
    Live (default): every host sends one sample per interval, until Ctrl-C or --duration.
    Backfill:       fleetprint simulate --hosts 200 --backfill 14d --interval 300
    """
    configure_logging(log_level.upper())
    if duration is not None and backfill is not None and not live:
        raise click.UsageError("--duration limits live mode: add --live after --backfill")
    settings = _settings(config_path, {"host": mqtt_host, "port": mqtt_port, "username": mqtt_username,
                                       "password_file": mqtt_password_file, "tls": mqtt_tls, "ca_file": mqtt_ca_file,
                                       "topic_prefix": mqtt_topic_prefix})
    now = time.time()
    if until is not None:
        until = until.replace(tzinfo=timezone.utc)
        if backfill is None or live:
            raise click.UsageError("--to ends a --backfill, without --live")
        if until.timestamp() > now:
            raise click.BadParameter(f"{until:%Y-%m-%dT%H:%M:%S} is in the future", param_hint="--to")
    try:
        fleet = generate_fleet(host_count, seed, datetime.fromtimestamp(now, timezone.utc).date(),
                               FleetSpec(kind_shares=_kind_shares(kinds), workstation_hours=workstation_hours))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--kinds") from None
    if estate_path:
        from fleetprint.simulator.estate import estate_csv

        reference = datetime.fromtimestamp(now, timezone.utc).date()
        Path(estate_path).write_text(estate_csv(fleet, reference.replace(year=reference.year - 2).isoformat()),
                                     encoding="utf-8")
        click.echo(f"wrote the fleet's devices without an agent to {estate_path}: fleetprint assets import "
                   f"--source simulated {estate_path}")
    end = int(until.timestamp() if until else now) // interval * interval
    go_live = live or backfill is None
    if go_live and rate and host_count / rate > interval:
        log.warning("%d hosts at %g messages/s take longer than the %d s interval: live mode will fall behind",
                    host_count, rate, interval)
    workers = min(processes, host_count)
    plans = [
        Plan(settings=settings, hosts=fleet[slot::workers], interval_s=interval,
             backfill=(end - backfill, end) if backfill else None, live=go_live, live_from=int(now),
             live_until=now + duration if duration else None, samples_per_report=samples_per_report,
             rate=rate / workers, max_in_flight=max_in_flight, client_id=f"fleetprint-simulator-{os.getpid()}-{slot}")
        for slot in range(workers)
    ]
    expected = [expected_messages(plan) for plan in plans]
    # SIGTERM stops like Ctrl-C: what was sent is acknowledged, and the summary printed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tqdm(total=None if None in expected else sum(expected), unit="msg", disable=None, dynamic_ncols=True) as bar:
        totals = run(plans, bar.update)
    statuses = totals.messages - totals.inventories - totals.reports
    counts = {name: sum(host.kind == kind for host in fleet) for kind, name in _KIND_NAMES.items()
              if kind != "thin_client" or any(host.kind == kind for host in fleet)}
    kinds_text = ", ".join(f"{count} {name}{'' if count == 1 else 's'}" for name, count in counts.items())
    click.echo(f"simulated {len(fleet)} hosts ({kinds_text}), seed {seed}, interval {interval} s")
    click.echo(f"sent {totals.messages} messages in {totals.seconds:.1f} s: {totals.inventories} inventories, "
               f"{totals.reports} reports with {totals.samples} samples"
               + (f", {statuses} statuses" if statuses else ""))
    seconds = max(totals.seconds, 1e-9)
    click.echo(f"{totals.messages / seconds:.0f} messages/s, {totals.samples / seconds:.0f} samples/s; "
               f"{totals.acknowledged} acknowledged by the broker")
    if totals.failed:
        raise click.ClickException("the simulation stopped on an error (see above)")


def _settings(config_path: str | None, overrides: dict[str, Any]) -> MqttSettings:
    """The config's [mqtt] section, with the keys given on the command line (`--mqtt-KEY`) on top."""
    try:
        settings = load_config(config_path, SimulatorConfig, "simulator").mqtt
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    merged = {**msgspec.to_builtins(settings), **{key: value for key, value in overrides.items() if value is not None}}
    try:
        return msgspec.convert(merged, MqttSettings)
    except msgspec.ValidationError as exc:
        raise click.ClickException(f"invalid MQTT option: {exc}") from None
