"""The broker checks `fleetprint doctor` runs on both sides: credential file, TCP, TLS, MQTT
CONNECT with the configured credentials, and (collector) a read right the ACL gives collectors.

The shipped broker config makes the user name the client id (use_username_as_clientid), so the
probe's connection is the service's: a running agent or collector is disconnected for a moment
and reconnects (within a second). For an agent, which keeps no session, the probe connects with a
clean start (the agent's Last Will says `offline` until it is back; its queue keeps every sample).
A clean start would discard a collector's session and the reports queued in it, so for a
collector (`session_expiry_s` given) the probe resumes the session instead, acknowledges nothing
it is handed (the collector gets it again) and leaves no session behind when there was none.
The probe publishes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from fleetprint.broker_acl import COLLECTOR_USER
from fleetprint.doctor import Check
from fleetprint.mqtt import MqttSettings, make_client

_CERT_EXPIRY_WARN_DAYS = 30
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def broker_checks(settings: MqttSettings, who: str, read_probe: str | None = None,
                  timeout_s: float = 5.0, session_expiry_s: int | None = None) -> Iterator[Check]:
    """Checks from the credential file to the CONNACK; `who` names the expected user in fixes;
    `read_probe`, a topic holding a retained message this user must be able to read;
    `session_expiry_s`, the persistent session of this user to resume rather than discard."""
    where = f"{settings.host}:{settings.port}"
    secret_check = _secret_file(settings)
    if secret_check:
        yield secret_check
        if secret_check.status == "FAIL":
            return
    try:
        sock = socket.create_connection((settings.host, settings.port), timeout=timeout_s)
    except OSError as exc:
        yield Check("broker tcp", "FAIL", f"cannot connect to {where}: {exc.strerror or exc}",
                    "check mqtt.host and mqtt.port, that the broker runs, and firewalls between")
        return
    yield Check("broker tcp", "OK", f"{where} accepts connections")
    with sock:
        if settings.tls:
            tls_check = _tls(sock, settings, timeout_s)
            yield tls_check
            if tls_check.status == "FAIL":
                return
        elif settings.host not in _LOOPBACK:
            yield Check("broker tls", "WARN", f"plain MQTT to {settings.host}: passwords and data cross the network "
                        "in clear", "set mqtt.tls = true, mqtt.port to the broker's TLS listener and mqtt.ca_file")
    yield from _mqtt(settings, who, read_probe, timeout_s, session_expiry_s)


def _secret_file(settings: MqttSettings) -> Check | None:
    if not settings.password_file:
        return None
    path = settings.password_file
    try:
        with open(path, encoding="utf-8") as handle:
            empty = not handle.read().strip()
        mode = os.stat(path).st_mode
    except OSError as exc:
        return Check("broker credential", "FAIL", f"cannot read mqtt.password_file {path}: {exc.strerror}",
                     "create it with `fleetprint broker add-host <host id> --secret-out FILE` on the broker")
    if empty:
        return Check("broker credential", "FAIL", f"{path} is empty", "write the host's broker password in it")
    if mode & 0o004 and all(parent.stat().st_mode & 0o001 for parent in Path(path).resolve().parents):
        return Check("broker credential", "WARN", f"{path} is readable by every user", f"chmod 600 {path}")
    return Check("broker credential", "OK", f"{path} readable, not by other users")


def _tls(sock: socket.socket, settings: MqttSettings, timeout_s: float) -> Check:
    """The handshake and certificate verification the MQTT client will do, and the expiry date."""
    try:
        context = ssl.create_default_context(cafile=settings.ca_file)
    except (OSError, ssl.SSLError) as exc:
        return Check("broker tls", "FAIL", f"cannot load mqtt.ca_file {settings.ca_file}: {exc}",
                     "point mqtt.ca_file at the PEM file of the CA that signed the broker's certificate")
    sock.settimeout(timeout_s)
    try:
        with context.wrap_socket(sock, server_hostname=settings.host) as tls:
            cert = tls.getpeercert() or {}
            version = tls.version()
    except ssl.SSLCertVerificationError as exc:
        if exc.verify_code == 62 or "match" in str(exc.verify_message):  # X509_V_ERR_HOSTNAME_MISMATCH
            fix = (f"connect by a name the certificate holds (mqtt.host), or reissue the broker's certificate "
                   f"for {settings.host}")
        else:
            fix = "set mqtt.ca_file to the CA that signed the broker's certificate"
        return Check("broker tls", "FAIL", f"certificate refused: {exc.verify_message}", fix)
    except (ssl.SSLError, OSError) as exc:
        return Check("broker tls", "FAIL", f"TLS handshake failed: {exc}",
                     "is mqtt.port the broker's TLS listener? (8883 in deploy/mosquitto/mosquitto.conf)")
    expires = dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), dt.UTC) if cert else None
    if expires and expires - dt.datetime.now(dt.UTC) < dt.timedelta(days=_CERT_EXPIRY_WARN_DAYS):
        return Check("broker tls", "WARN", f"{version}, certificate verified but expires {expires:%Y-%m-%d}",
                     "renew the broker's certificate")
    return Check("broker tls", "OK", f"{version}, certificate verified" +
                 (f", valid until {expires:%Y-%m-%d}" if expires else ""))


def _mqtt(settings: MqttSettings, who: str, read_probe: str | None, timeout_s: float,
          session_expiry_s: int | None) -> Iterator[Check]:
    from paho.mqtt.packettypes import PacketTypes  # as make_client: paho only when it connects
    from paho.mqtt.properties import Properties

    # manual_ack: a report the broker hands to a resumed collector session is never acknowledged here.
    client = make_client(settings, f"fleetprint-doctor-{uuid.uuid4().hex[:12]}", manual_ack=True)
    answered, subscribed, received = threading.Event(), threading.Event(), threading.Event()
    result: dict[str, object] = {"session_present": True}
    session = {}
    if session_expiry_s is not None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry_s
        props.ReceiveMaximum = 1  # what the broker may hand over unacknowledged: one message
        session = {"clean_start": False, "properties": props}

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        result["connack"] = reason_code
        result["session_present"] = flags.session_present
        answered.set()

    def on_subscribe(client, userdata, mid, reason_codes, properties) -> None:
        result["suback"] = reason_codes[0]
        subscribed.set()

    client.on_connect, client.on_subscribe = on_connect, on_subscribe
    client.on_message = lambda client, userdata, message: received.set()
    try:
        client.connect(settings.host, settings.port, keepalive=max(5, int(timeout_s) * 2), **session)
    except (OSError, ssl.SSLError) as exc:
        yield Check("broker login", "FAIL", f"cannot open the MQTT connection: {exc}", "see the checks above")
        return
    client.loop_start()
    try:
        if not answered.wait(timeout_s):
            yield Check("broker login", "FAIL", f"no CONNACK within {timeout_s:g} s",
                        "is this an MQTT port? With TLS on the broker, set mqtt.tls = true")
            return
        code = result["connack"]
        if code.is_failure:  # type: ignore[attr-defined]
            user = settings.username or "(anonymous)"
            yield Check("broker login", "FAIL", f"refused user {user}: {code} (CONNACK {code.value})",  # type: ignore[attr-defined]
                        f"set mqtt.username to {who} and mqtt.password_file to its password from "
                        f"`fleetprint broker {_credential_command(who)}`")
            return
        yield Check("broker login", "OK", f"MQTT v5 CONNECT accepted for user {settings.username or '(anonymous)'}")
        if read_probe:
            client.subscribe(read_probe, 0)
            yield _read_right(read_probe, subscribed, received, result, timeout_s)
    finally:
        ending = None
        if session and not result["session_present"]:  # no session of the collector's: leave none
            ending = Properties(PacketTypes.DISCONNECT)
            ending.SessionExpiryInterval = 0
        client.disconnect(properties=ending)
        client.loop_stop()


def _credential_command(who: str) -> str:
    """The `fleetprint broker` command that creates `who`'s credentials."""
    if who == COLLECTOR_USER:
        return "add-collector"
    if who.startswith(COLLECTOR_USER + "-"):
        return f"add-collector {who.removeprefix(COLLECTOR_USER + '-')}"
    return f"add-host {who}"


def _read_right(topic: str, subscribed: threading.Event, received: threading.Event, result: dict[str, object],
                timeout_s: float) -> Check:
    """Mosquitto grants any SUBSCRIBE and applies the ACL on delivery: the proof of a read right is a
    message received, here a retained one the broker keeps on `topic`."""
    fix = "give this user the collectors' read rights in the broker's ACL (deploy/mosquitto/acl)"
    if not subscribed.wait(timeout_s):
        return Check("broker read", "FAIL", f"no SUBACK within {timeout_s:g} s", "check the broker's log")
    if result["suback"].is_failure:  # type: ignore[attr-defined]
        return Check("broker read", "FAIL", f"may not subscribe to {topic}: {result['suback']}", fix)
    if not received.wait(timeout_s):
        return Check("broker read", "WARN", f"nothing received on {topic} within {timeout_s:g} s: the ACL may "
                     "not give this user the collectors' rights (or the broker publishes no $SYS tree)", fix)
    return Check("broker read", "OK", f"reads {topic}, as the collectors' ACL rules allow")
