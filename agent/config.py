"""The agent's configuration (TOML, `FLEETPRINT_AGENT_*` overrides): see examples/agent.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, get_args

import msgspec

from fleetprint.agent.inventory import HostFacts
from fleetprint.agent.platform import default_state_dir
from fleetprint.agent.power.registry import PowerSettings, upgrade_flat_keys
from fleetprint.agent.services import ServiceSettings
from fleetprint.config import load_config
from fleetprint.mqtt import MqttSettings
from fleetprint.schema import MachineKind

# In state_dir: the agent's heartbeat, read by `fleetprint agent health` (fleetprint/health.py).
HEALTH_FILE = "health.json"


class SamplingSettings(msgspec.Struct, forbid_unknown_fields=True):
    """How often to sample, and how late a missed sample may still run (laptops sleep)."""

    interval_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 30.0
    misfire_grace_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 10.0
    inventory_refresh_s: Annotated[float, msgspec.Meta(ge=60, le=604800)] = 3600.0


class BufferSettings(msgspec.Struct, forbid_unknown_fields=True):
    """The on-disk queue and how fast it drains after an outage."""

    # 200,000 samples: about 69 days at a 30 s interval, about 60 MB on disk.
    max_samples: Annotated[int, msgspec.Meta(ge=10, le=10_000_000)] = 200_000
    max_samples_per_report: Annotated[int, msgspec.Meta(ge=1, le=2880)] = 120
    max_in_flight: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20
    max_reports_per_s: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 20.0


class AgentConfig(msgspec.Struct, forbid_unknown_fields=True):
    """Top level of agent.toml."""

    host: HostFacts = msgspec.field(default_factory=HostFacts)
    mqtt: MqttSettings = msgspec.field(default_factory=MqttSettings)
    sampling: SamplingSettings = msgspec.field(default_factory=SamplingSettings)
    buffer: BufferSettings = msgspec.field(default_factory=BufferSettings)
    services: ServiceSettings = msgspec.field(default_factory=ServiceSettings)
    power: PowerSettings = msgspec.field(default_factory=PowerSettings)
    state_dir: str = msgspec.field(default_factory=default_state_dir)

    @property
    def health_file(self) -> Path:
        return Path(self.state_dir) / HEALTH_FILE

    def check(self) -> None:
        """Cross-field rules that types alone cannot say."""
        if self.host.kind is not None and self.host.kind not in get_args(MachineKind):
            raise ValueError(f"host.kind: must be one of {', '.join(get_args(MachineKind))}")
        if self.mqtt.password and self.mqtt.password_file:
            raise ValueError("mqtt.password: give password or password_file, not both")
        self.services.check()
        self.power.check()


def load_agent_config(path: str | None) -> AgentConfig:
    """Load and validate the agent config, or raise ConfigError."""
    return load_config(path, AgentConfig, "agent", upgrade=upgrade_flat_keys)
