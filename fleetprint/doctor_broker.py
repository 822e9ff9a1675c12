"""The broker checks `fleetprint doctor` runs on both sides: credential file, TCP, TLS, MQTT
CONNECT with the configured credentials, and (collector) the rights the ACL gives collectors.

The shipped broker config makes the user name the client id (use_username_as_clientid), so the
probe's connection is the service's: a running agent or collector is disconnected for a moment
and reconnects (within a second). For an agent, which keeps no session, the probe connects with a
clean start (the agent's Last Will says `offline` until it is back; its queue keeps every sample).
A clean start would discard a collector's session and the reports queued in it, so for a
collector (`session_expiry_s` given) the probe resumes the session instead, acknowledges nothing
it is handed (the collector gets it again) and leaves no session behind when there was none.
The rights check publishes one message (QoS 1, not retained) on a topic of its own that no
service subscribes to, receives it back, and unsubscribes before it leaves.
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
from fleetprint.doctor_checks import Check
from fleetprint.mqtt import MqttSettings, make_client

_CERT_EXPIRY_WARN_DAYS = 30
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def broker_checks(settings: MqttSettings, who: str, rights_probe: str | None = None,
                  timeout_s: float = 5.0, session_expiry_s: int | None = None) -> Iterator[Check]:
    """Checks from the credential file to the CONNACK; `who` names the expected user in fixes;
    `rights_probe`, a topic under which this user must be able to publish and subscribe, and
    nothing else listens; `session_expiry_s`, the persistent session of this user to resume
    rather than discard."""
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
    yield from _mqtt(settings, who, rights_probe, timeout_s, session_expiry_s)


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
                     "create it with `fleetprint broker add-host <host id> -o FILE` on the broker")
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


def _mqtt(settings: MqttSettings, who: str, rights_probe: str | None, timeout_s: float,
          session_expiry_s: int | None) -> Iterator[Check]:
    from paho.mqtt.packettypes import PacketTypes  # as make_client: paho only when it connects
    from paho.mqtt.properties import Properties

    # manual_ack: a report the broker hands to a resumed collector session is never acknowledged here.
    client = make_client(settings, f"fleetprint-doctor-{uuid.uuid4().hex[:12]}", manual_ack=True)
    answered = threading.Event()
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

    client.on_connect = on_connect
    probe = _RightsProbe(client, f"{rights_probe}/{uuid.uuid4().hex[:12]}") if rights_probe else None
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
        if probe:
            yield probe.run(timeout_s)
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


class _RightsProbe:
    """A message published on `topic` and received back: the proof of the rights to write and to
    read there, at once and whatever the broker's $SYS interval (Mosquitto may grant a SUBSCRIBE
    and apply its ACL on delivery, and answer a refused PUBLISH with a failing PUBACK)."""

    def __init__(self, client, topic: str) -> None:
        self.client, self.topic = client, topic
        self.subscribed, self.published, self.received = threading.Event(), threading.Event(), threading.Event()
        self.suback: object = None
        self.puback: object = None
        client.on_subscribe, client.on_publish = self._on_subscribe, self._on_publish
        # A resumed collector session may be handed a report: only the probe's own message counts.
        client.message_callback_add(topic, lambda client, userdata, message: self.received.set())

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.suback = reason_codes[0]
        self.subscribed.set()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.puback = reason_code
        self.published.set()

    def run(self, timeout_s: float) -> Check:
        fix = "give this user the collectors' rights in the broker's ACL (`fleetprint broker add-collector`)"
        self.client.subscribe(self.topic, 0)  # QoS 0: not held back by the session's receive maximum
        try:
            if not self.subscribed.wait(timeout_s):
                return Check("broker rights", "FAIL", f"no SUBACK within {timeout_s:g} s", "check the broker's log")
            if self.suback.is_failure:  # type: ignore[attr-defined]
                return Check("broker rights", "FAIL", f"may not subscribe to {self.topic}: {self.suback}", fix)
            self.client.publish(self.topic, b"fleetprint doctor", qos=1)
            if not self.published.wait(timeout_s):
                return Check("broker rights", "FAIL", f"no PUBACK within {timeout_s:g} s", "check the broker's log")
            if self.puback.is_failure:  # type: ignore[attr-defined]
                return Check("broker rights", "FAIL", f"may not publish to {self.topic}: {self.puback}", fix)
            if not self.received.wait(timeout_s):
                return Check("broker rights", "FAIL", f"published to {self.topic}, received nothing back within "
                             f"{timeout_s:g} s: the ACL does not let this user read there", fix)
            return Check("broker rights", "OK", f"publishes to and reads {self.topic}, as the collectors' ACL "
                         "rules allow")
        finally:
            self.client.unsubscribe(self.topic)  # a resumed collector session keeps no trace of it
