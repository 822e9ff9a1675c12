"""MQTT settings, topic names and client construction shared by the agent and the collector.

Topics (DESIGN §3), under a configurable prefix (default `fleetprint/v1`):
`<prefix>/hosts/<host_id>/inventory` (retained), `<prefix>/hosts/<host_id>/report`,
`<prefix>/hosts/<host_id>/status` (retained, Last Will), `<prefix>/alerts/<service>`.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

DEFAULT_PREFIX = "fleetprint/v1"


class MqttSettings(msgspec.Struct, forbid_unknown_fields=True):
    """How to reach the broker."""

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 1883
    username: str | None = None
    password: str | None = None
    password_file: str | None = None
    tls: bool = False
    ca_file: str | None = None
    topic_prefix: Annotated[str, msgspec.Meta(pattern=r"^[^#+\x00]+\Z")] = DEFAULT_PREFIX
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 60

    def secret(self) -> str | None:
        """The password, read from `password_file` when given."""
        if self.password_file:
            with open(self.password_file, encoding="utf-8") as handle:
                return handle.read().strip()
        return self.password


class Topics:
    """Topic names for one prefix."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix.rstrip("/")

    def inventory(self, host_id: str) -> str:
        return f"{self.prefix}/hosts/{host_id}/inventory"

    def report(self, host_id: str) -> str:
        return f"{self.prefix}/hosts/{host_id}/report"

    def status(self, host_id: str) -> str:
        return f"{self.prefix}/hosts/{host_id}/status"

    def alert(self, budget_id: str) -> str:
        """A budget's retained alert: `alerts/<service>[/<site>]/<period>`."""
        return f"{self.prefix}/alerts/{budget_id}"

    @property
    def all_alerts(self) -> str:
        return f"{self.prefix}/alerts/#"

    def collector_status(self, collector_id: str) -> str:
        return f"{self.prefix}/collectors/{collector_id}/status"

    @property
    def all_collector_statuses(self) -> str:
        return f"{self.prefix}/collectors/+/status"

    @property
    def all_inventories(self) -> str:
        return f"{self.prefix}/hosts/+/inventory"

    @property
    def all_reports(self) -> str:
        return f"{self.prefix}/hosts/+/report"

    def host_of(self, topic: str) -> str | None:
        """The host id a per-host topic names, or None when the topic is not one."""
        head = f"{self.prefix}/hosts/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        return parts[0] if len(parts) == 2 else None


def make_client(settings: MqttSettings, client_id: str, manual_ack: bool = False):
    """A paho-mqtt 2.x MQTT v5 client with credentials and TLS applied (not yet connected)."""
    import paho.mqtt.client as paho  # imported here: the schema users need not have paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv5,
        manual_ack=manual_ack,
    )
    if settings.username:
        client.username_pw_set(settings.username, settings.secret())
    if settings.tls:
        client.tls_set(ca_certs=settings.ca_file)
    return client
