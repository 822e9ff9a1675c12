"""`fleetprint broker ...`: hosts' and collectors' broker credentials, added and revoked.

Wraps Mosquitto's own `mosquitto_passwd` on the password file named in
deploy/mosquitto/mosquitto.conf. The user name is the host id, which the ACL's patterns
tie to the host's own topics. The broker uses the user name as client id, so each collector
has a user of its own, `fleetprint-collector[-NAME]`, with the collectors' rights in the ACL
(fleetprint/broker_acl.py). Mosquitto reads both files again on SIGHUP (`--reload`).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
from pathlib import Path

import click

from fleetprint.broker_acl import COLLECTOR_USER, grant_collector, withdraw_collector
from fleetprint.cli_options import output_option
from fleetprint.schema import HOST_ID_PATTERN

DEFAULT_PASSWORD_FILE = "/etc/mosquitto/fleetprint/passwd"
DEFAULT_ACL_FILE = "/etc/mosquitto/fleetprint/acl"
# A collector's user is its client id and its `collector.id`: at most 64 characters.
COLLECTOR_NAME_PATTERN = r"[A-Za-z0-9._-]{1,%d}" % (64 - len(COLLECTOR_USER) - 1)


def _mosquitto_passwd() -> str:
    binary = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not os.path.exists(binary):
        raise click.ClickException("mosquitto_passwd not found: install the mosquitto package")
    return binary


def set_password(password_file: Path, user: str, password: str) -> None:
    """Add or replace `user` in a Mosquitto password file (created when missing, mode 600)."""
    password_file.parent.mkdir(parents=True, exist_ok=True)
    if not password_file.exists():
        password_file.touch(mode=0o600)
    result = subprocess.run([_mosquitto_passwd(), "-b", str(password_file), user, password],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise click.ClickException(f"mosquitto_passwd failed: {result.stderr.strip() or result.stdout.strip()}")


def remove_user(password_file: Path, user: str) -> bool:
    """Delete `user`; False when it was not there."""
    if not password_file.exists() or not any(
        line.split(":", 1)[0] == user for line in password_file.read_text(encoding="utf-8").splitlines()
    ):
        return False
    result = subprocess.run([_mosquitto_passwd(), "-D", str(password_file), user], capture_output=True, text=True)
    if result.returncode != 0:
        raise click.ClickException(f"mosquitto_passwd failed: {result.stderr.strip() or result.stdout.strip()}")
    return True


def _reload(pid_file: Path | None) -> None:
    if pid_file is None:
        click.echo("Reload the broker to apply: systemctl reload mosquitto (or send it SIGHUP).")
        return
    os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    click.echo("Broker reloaded.")


def _write_secret(secret_file: Path, password: str) -> None:
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")


_password_file_option = click.option(
    "--password-file", "-p", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_PASSWORD_FILE,
    show_default=True, help="Mosquitto's password file (its password_file: users and hashed passwords).")
_reload_option = click.option(
    "--reload", "pid_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Mosquitto's pid file: send it SIGHUP so the change applies now.")
_acl_option = click.option(
    "--acl-file", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_ACL_FILE, show_default=True,
    help="Mosquitto's ACL file, where a named collector's user gets the collectors' rights.")


@click.group()
def broker() -> None:
    """Broker credentials: one user per host (its host id), one per collector."""


def _issue(password_file: Path, user: str, output: Path | None, pid_file: Path | None) -> None:
    password = secrets.token_urlsafe(24)
    set_password(password_file, user, password)
    if output:
        _write_secret(output, password)
        click.echo(f"{user}: password written to {output}")
    else:
        click.echo(f"{user}: {password}")
    _reload(pid_file)


@broker.command("add-host")
@click.argument("host_id")
@_password_file_option
@output_option("the new password (mode 600; the host's `mqtt.password_file`)")
@_reload_option
def add_host(host_id: str, password_file: Path, output: Path | None, pid_file: Path | None) -> None:
    """Create (or renew) HOST_ID's credentials; the ACL limits it to its own topics."""
    if not re.fullmatch(HOST_ID_PATTERN, host_id):
        raise click.BadParameter(f"{host_id!r} is not a host id ([A-Za-z0-9._-]{{1,64}})", param_hint="HOST_ID")
    if host_id == COLLECTOR_USER or host_id.startswith(COLLECTOR_USER + "-"):
        raise click.BadParameter(f"{host_id!r} is a collector's user name", param_hint="HOST_ID")
    _issue(password_file, host_id, output, pid_file)


def collector_user(name: str | None) -> str:
    """`fleetprint-collector`, or `fleetprint-collector-NAME`: a collector's user, client id and `collector.id`."""
    if name is None:
        return COLLECTOR_USER
    if not re.fullmatch(COLLECTOR_NAME_PATTERN, name):
        raise click.BadParameter(f"{name!r} is not a collector name ({COLLECTOR_NAME_PATTERN})", param_hint="NAME")
    return f"{COLLECTOR_USER}-{name}"


@broker.command("add-collector")
@click.argument("name", required=False)
@_password_file_option
@_acl_option
@output_option("the new password (mode 600; the collector's `mqtt.password_file`)")
@_reload_option
def add_collector(name: str | None, password_file: Path, acl_file: Path, output: Path | None,
                  pid_file: Path | None) -> None:
    """Create (or renew) a collector's credentials: user fleetprint-collector, or with NAME,
    fleetprint-collector-NAME, given the collectors' rights in the ACL. The broker uses the user
    as client id: give each collector its own, and set its collector.id to it."""
    user = collector_user(name)
    if name is not None:
        try:
            if grant_collector(acl_file, user):
                click.echo(f"{user}: the collectors' rights added to {acl_file}")
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"{acl_file}: {exc}") from exc
    click.echo(f'Set this collector\'s mqtt.username and collector.id to "{user}".')
    _issue(password_file, user, output, pid_file)


@broker.command("revoke-collector")
@click.argument("name")
@_password_file_option
@_acl_option
@_reload_option
def revoke_collector(name: str, password_file: Path, acl_file: Path, pid_file: Path | None) -> None:
    """Remove fleetprint-collector-NAME's credentials and its block in the ACL."""
    user = collector_user(name)
    removed = remove_user(password_file, user)
    try:
        withdrawn = withdraw_collector(acl_file, user)
    except OSError as exc:
        raise click.ClickException(f"{acl_file}: {exc}") from exc
    if not (removed or withdrawn):
        raise click.ClickException(f"{user} has no credentials in {password_file} nor rights in {acl_file}")
    click.echo(f"{user}: revoked")
    _reload(pid_file)


@broker.command("revoke-host")
@click.argument("host_id")
@_password_file_option
@_reload_option
def revoke_host(host_id: str, password_file: Path, pid_file: Path | None) -> None:
    """Remove HOST_ID's credentials: it can no longer connect once the broker has reloaded."""
    if not remove_user(password_file, host_id):
        raise click.ClickException(f"{host_id} has no credentials in {password_file}")
    click.echo(f"{host_id}: revoked")
    _reload(pid_file)
