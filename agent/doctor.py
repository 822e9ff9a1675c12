"""`fleetprint doctor agent`: the agent's config, host id, broker, power sources, state and clock."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import msgspec

from fleetprint.agent.config import AgentConfig, load_agent_config
from fleetprint.doctor_broker import broker_checks
from fleetprint.doctor_checks import Check, clock_against, clock_sync, load_checked

# Status kinds of a power source (fleetprint.agent.power) that something on the host can fix.
_FIXABLE = ("denied", "not installed", "no driver", "unreachable", "untrusted", "error")


def agent_checks(config_path: str | None, clock_url: str | None, root: Path = Path("/"),
                 timeout_s: float = 5.0) -> Iterator[Check]:
    """Every check, in order; stops after a config that cannot be used."""
    config_check, config = load_checked(load_agent_config, config_path)
    yield config_check
    if config is None:
        return
    host_check, host_id = _host_id(config, root)
    yield host_check
    yield from broker_checks(config.mqtt, host_id or "<host id>", timeout_s=timeout_s)
    yield from power_checks(config, root)
    yield _state_dir(Path(config.state_dir))
    yield _queue(config)
    yield clock_sync()
    if clock_url:
        yield clock_against(clock_url, timeout_s=timeout_s)


def _host_id(config: AgentConfig, root: Path) -> tuple[Check, str | None]:
    from fleetprint.agent.inventory import derive_host_id

    try:
        host_id = config.host.id or derive_host_id(root)
    except ValueError as exc:
        return Check("host id", "FAIL", str(exc), "set host.id in the agent config"), None
    origin = "host.id" if config.host.id else "derived from the machine id"
    if config.mqtt.username and config.mqtt.username != host_id:
        return Check("host id", "WARN", f"{host_id} ({origin}) but mqtt.username is {config.mqtt.username}: the "
                     "broker's ACL lets a user write only under its own host id",
                     f"set mqtt.username = \"{host_id}\", or host.id = \"{config.mqtt.username}\""), host_id
    return Check("host id", "OK", f"{host_id} ({origin})"), host_id


def power_checks(config: AgentConfig, root: Path) -> Iterator[Check]:
    """One line per measured power source: read now, or why not and what to do."""
    from fleetprint.agent.power import power_reader_for
    from fleetprint.agent.power.registry import SOURCE_TYPES

    opt_in = {source.name for source in SOURCE_TYPES if source.opt_in}
    for name, status in power_reader_for(config.power, root).statuses().items():
        check_name = f"power {name}"
        kind = status.split(":", 1)[0]
        if status == "ok":
            yield Check(check_name, "OK", "readable")
        elif status == "not configured":
            yield Check(check_name, "INFO", f"not configured (read only when [power.{name}] turns it on)")
        elif name in opt_in:
            yield Check(check_name, "FAIL", status, f"fix [power.{name}] or what the message names, or remove "
                        f"[power.{name}] from the config")
        elif kind in _FIXABLE:
            yield Check(check_name, "WARN", status, "see the message: the agent models power without this source")
        else:
            yield Check(check_name, "INFO", status)


def _state_dir(path: Path) -> Check:
    """The agent keeps its queue and sequence number there: it must be able to write files."""
    existing = next((parent for parent in (path, *path.parents) if parent.exists()), Path("/"))
    if not existing.is_dir():
        return Check("state dir", "FAIL", f"{existing} is not a directory", f"set state_dir to a directory ({path})")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".fleetprint-doctor-"):
            pass
    except OSError as exc:
        return Check("state dir", "FAIL", f"cannot write in {existing}: {exc.strerror}",
                     f"let the agent's user write {path} (the systemd unit's StateDirectory= does)")
    if existing != path:
        return Check("state dir", "OK", f"{path} does not exist yet; the agent can create it in {existing}")
    return Check("state dir", "OK", f"{path} is writable")


def _queue(config: AgentConfig) -> Check:
    """How many samples wait on disk for the broker, and since when."""
    path = Path(config.state_dir) / "buffer.sqlite3"
    if not path.exists():
        return Check("queue", "OK", "empty (no buffer yet)")
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            count, body = db.execute("SELECT count(*), (SELECT body FROM samples ORDER BY id LIMIT 1) "
                                     "FROM samples").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        return Check("queue", "WARN", f"cannot read {path}: {exc}", "check the file's owner and mode")
    if not count:
        return Check("queue", "OK", "empty: every sample reached the broker")
    oldest = msgspec.json.decode(body, type=dict[str, object]).get("ts", "")
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(str(oldest).replace("Z", "+00:00"))
    detail = f"{count} samples waiting, the oldest from {oldest} ({age.total_seconds() / 60:.0f} min ago)"
    if count >= config.buffer.max_samples:
        return Check("queue", "WARN", detail + ": full, the oldest are being dropped",
                     "fix the broker checks above; raise buffer.max_samples to ride out longer outages")
    if age.total_seconds() > 10 * config.sampling.interval_s:
        return Check("queue", "WARN", detail + ": not draining", "fix the broker checks above, then restart the agent")
    return Check("queue", "OK", detail)
