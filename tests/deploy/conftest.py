"""The deploy tests' shared stack: the secrets make-secrets.sh writes, the shipped broker using them, and a
release built by scripts/release."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from releases import RELEASED, scratch_clone, tag_and_release
from stack import make_secrets, shipped_broker


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_secrets(tmp_path_factory.mktemp("secrets") / "secrets")


@pytest.fixture(scope="module")
def tls_broker(secrets: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    broker = shipped_broker(secrets, tmp_path_factory.mktemp("tls-broker"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A scratch clone tagged and released as RELEASED: the clone (artefacts in its dist/) and what the release said."""
    clone = scratch_clone(tmp_path_factory.mktemp("release") / "fleetprint")
    return clone, tag_and_release(clone, RELEASED)
