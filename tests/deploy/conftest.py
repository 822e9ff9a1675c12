"""The deploy tests' shared stack: the secrets make-secrets.sh writes, and the shipped broker using them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from stack import make_secrets, shipped_broker


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_secrets(tmp_path_factory.mktemp("secrets") / "secrets")


@pytest.fixture(scope="module")
def tls_broker(secrets: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    broker = shipped_broker(secrets, tmp_path_factory.mktemp("tls-broker"))
    yield broker
    broker.stop()
