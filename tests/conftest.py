"""Session-wide real Mosquitto and InfluxDB daemons, and a fresh InfluxDB database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import InfluxDB, Mosquitto, VictoriaMetrics, quote_ident, which
from smalldisk import SmallDisk


def _require(program: str, package: str) -> None:
    """Fail (not skip) the test when a daemon binary is missing."""
    if which(program) is None:
        pytest.fail(f"{program} not found: run ./scripts/test, which installs {package}", pytrace=False)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One anonymous Mosquitto broker for the whole session."""
    _require("mosquitto", "mosquitto")
    broker = Mosquitto()
    broker.start(tmp_path_factory.mktemp("mosquitto"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    """One InfluxDB 1.x server for the whole session."""
    _require("influxd", "influxdb")
    server = InfluxDB()
    server.start(tmp_path_factory.mktemp("influxdb"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def victoria_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetrics]:
    """One VictoriaMetrics server: the receiver for the InfluxDB 2.x write path."""
    _require("victoria-metrics", "victoria-metrics")
    server = VictoriaMetrics()
    server.start(tmp_path_factory.mktemp("victoria-metrics"))
    yield server
    server.stop()


@pytest.fixture
def influx_db(influxdb: InfluxDB) -> Iterator[str]:
    """The name of a new empty database on the session InfluxDB, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    influxdb.create_database(name)
    yield name
    influxdb.query(f"DROP DATABASE {quote_ident(name)}")


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker for one test alone, free to be stopped and restarted."""
    _require("mosquitto", "mosquitto")
    broker = Mosquitto()
    broker.start(tmp_path / "own-mosquitto")
    yield broker
    broker.stop()


@pytest.fixture
def own_influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    """An InfluxDB for one test alone, free to be stopped and restarted."""
    _require("influxd", "influxdb")
    server = InfluxDB()
    server.start(tmp_path / "own-influxdb")
    yield server
    server.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 16 MiB filesystem of its own, to be filled (tests/smalldisk.py)."""
    disk = SmallDisk(tmp_path / "small-disk", 16 << 20)
    yield disk
    disk.unmount()
