"""`fleetprint doctor collector` against real services: healthy, and each planted misconfiguration."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import trustme
from stack import AuthInfluxDB, by_name, doctor
from test_broker_security import ShippedMosquitto, tls_files

from fleetprint.collector.doctor import PROBE_MEASUREMENT, collector_checks
from fleetprint.doctor_checks import Check

from processes import wait_until
from services import Mosquitto, free_port


@pytest.fixture(scope="module")
def auth_influxdb(tmp_path_factory: pytest.TempPathFactory):
    server = AuthInfluxDB()
    server.start(tmp_path_factory.mktemp("auth-influxdb"))
    server.setup_users("guarded")
    yield server
    server.stop()


def write_config(path: Path, mqtt: str, influx: str) -> str:
    path.write_text(f'[collector]\nid = "fleetprint-collector"\n\n[mqtt]\n{mqtt}\n\n[influxdb]\n{influx}\n')
    return str(path)


def plain_mqtt(broker) -> str:
    return f'host = "127.0.0.1"\nport = {broker.port}'


def tls_mqtt(broker: ShippedMosquitto, secrets: Path, user: str = "fleetprint-collector",
             password_file: str = "collector.secret", ca: Path | None = None, host: str = "127.0.0.1") -> str:
    return (f'host = "{host}"\nport = {broker.tls_port}\ntls = true\nca_file = "{ca or secrets / "ca.crt"}"\n'
            f'username = "{user}"\npassword_file = "{secrets / password_file}"')


def v1(influxdb, database: str, extra: str = "") -> str:
    return f'url = "{influxdb.url}"\ndatabase = "{database}"\ncreate_database = false\n{extra}'


def statuses(config: str) -> dict[str, str]:
    return {name: check.status for name, check in by_name(list(collector_checks(config, timeout_s=3))).items()}


def test_healthy_over_tls_with_the_compose_secrets(tls_broker, secrets, influxdb, influx_db, tmp_path) -> None:
    config = write_config(tmp_path / "c.toml", tls_mqtt(tls_broker, secrets), v1(influxdb, influx_db))
    code, output = doctor("collector", "-c", config)
    assert code == 0, output
    names = [re.match(r"OK    (\S+(?: \S+)?)  ", line) for line in output.splitlines()[:-1]]
    assert all(names), output
    assert [name.group(1) for name in names if name] == [
        "config", "collector id", "broker credential", "broker tcp", "broker tls", "broker login", "broker rights",
        "influxdb", "influxdb database", "influxdb write", "influxdb read", "clock"]
    assert influxdb.query(f"SELECT probe FROM {PROBE_MEASUREMENT}", influx_db)[0]["probe"] == 1


def test_a_bad_config_field_names_the_key(tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[mqtt]\nport = 70000\n')
    code, output = doctor("collector", "-c", str(config))
    assert code == 1
    assert output.startswith("FAIL  config") and "mqtt.port" in output and "fix: correct `mqtt.port`" in output


def test_wrong_broker_port(influxdb, influx_db, tmp_path) -> None:
    config = write_config(tmp_path / "c.toml", f'port = {free_port()}', v1(influxdb, influx_db))
    checks = by_name(list(collector_checks(config, 3)))
    assert checks["broker tcp"].status == "FAIL" and "Connection refused" in checks["broker tcp"].detail
    assert "broker login" not in checks


def test_wrong_password_gets_the_connack_reason(tls_broker, secrets, influxdb, influx_db, tmp_path) -> None:
    config = write_config(tmp_path / "c.toml", tls_mqtt(tls_broker, secrets, password_file="agent.secret"),
                          v1(influxdb, influx_db))
    login = by_name(list(collector_checks(config, 3)))["broker login"]
    assert login.status == "FAIL"
    assert "Not authorized" in login.detail or "Bad user name or password" in login.detail
    assert "fleetprint broker add-collector" in login.fix


def test_a_broker_certificate_from_another_ca(tls_broker, secrets, influxdb, influx_db, tmp_path) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    config = write_config(tmp_path / "c.toml", tls_mqtt(tls_broker, secrets, ca=other_ca), v1(influxdb, influx_db))
    tls = by_name(list(collector_checks(config, 3)))["broker tls"]
    assert tls.status == "FAIL" and "certificate refused" in tls.detail and "mqtt.ca_file" in tls.fix


def test_a_certificate_for_another_name(secrets, influxdb, influx_db, tmp_path) -> None:
    files = tls_files(tmp_path, "broker.example.org")
    broker = ShippedMosquitto({**files, "passwd": secrets / "mosquitto.passwd"})
    broker.start(tmp_path / "broker")
    try:
        config = write_config(tmp_path / "c.toml", tls_mqtt(broker, secrets, ca=files["ca"]), v1(influxdb, influx_db))
        tls = by_name(list(collector_checks(config, 3)))["broker tls"]
    finally:
        broker.stop()
    assert tls.status == "FAIL" and "mismatch" in tls.detail.lower() and "mqtt.host" in tls.fix


def test_plain_mqtt_on_the_tls_port(tls_broker, secrets, influxdb, influx_db, tmp_path) -> None:
    mqtt = (f'port = {tls_broker.tls_port}\nusername = "fleetprint-collector"\n'
            f'password_file = "{secrets}/collector.secret"')
    config = write_config(tmp_path / "c.toml", mqtt, v1(influxdb, influx_db))
    login = by_name(list(collector_checks(config, 1)))["broker login"]
    assert login.status == "FAIL" and "mqtt.tls" in login.fix


def test_a_host_user_lacks_the_collectors_rights(tls_broker, secrets, influxdb, influx_db, tmp_path) -> None:
    config = write_config(tmp_path / "c.toml", tls_mqtt(tls_broker, secrets, user="compose-host",
                                                          password_file="agent.secret"), v1(influxdb, influx_db))
    checks = by_name(list(collector_checks(config, 1.5)))
    assert checks["broker login"].status == "OK"
    rights = checks["broker rights"]
    assert rights.status == "FAIL" and "Not authorized" in rights.detail and "ACL" in rights.fix


@pytest.mark.parametrize("sys_interval", [10, 0], ids=["mosquitto's default $SYS interval", "no $SYS tree"])
def test_run_locals_anonymous_broker_gives_every_right_at_once(sys_interval, influxdb, influx_db, tmp_path) -> None:
    """scripts/run-local's broker: anonymous, no ACL, $SYS every 10 s (Mosquitto's default)."""
    broker = Mosquitto(sys_interval=sys_interval)
    broker.start(tmp_path / "mosquitto")
    try:
        config = write_config(tmp_path / "c.toml", plain_mqtt(broker), v1(influxdb, influx_db))
        started = time.monotonic()
        rights = by_name(list(collector_checks(config, 5)))["broker rights"]
        assert rights.status == "OK", rights
        assert time.monotonic() - started < 4, "the rights check waited for something"
    finally:
        broker.stop()


def test_missing_database_and_unreachable_influxdb(mosquitto, influxdb, tmp_path) -> None:
    config = write_config(tmp_path / "c.toml", plain_mqtt(mosquitto), v1(influxdb, "no_such_db"))
    database = by_name(list(collector_checks(config, 3)))["influxdb database"]
    assert database.status == "FAIL" and "CREATE DATABASE" in database.fix
    created_at_start = write_config(tmp_path / "c2.toml", plain_mqtt(mosquitto),
                                    v1(influxdb, "no_such_db").replace("create_database = false", ""))
    assert statuses(created_at_start)["influxdb database"] == "WARN"
    gone = write_config(tmp_path / "c3.toml", plain_mqtt(mosquitto), f'url = "http://127.0.0.1:{free_port()}"')
    influx = by_name(list(collector_checks(gone, 3)))["influxdb"]
    assert influx.status == "FAIL" and "influxdb.url" in influx.fix


def test_influxdb_users_and_rights(mosquitto, auth_influxdb, tmp_path) -> None:
    def rights(user: str, password: str) -> dict[str, str]:
        extra = f'username = "{user}"\npassword = "{password}"'
        return statuses(write_config(tmp_path / f"{user}.toml", plain_mqtt(mosquitto),
                                     v1(auth_influxdb, "guarded", extra)))

    admin = rights("admin", "admin-pw")
    assert [admin[k] for k in ("influxdb database", "influxdb write", "influxdb read")] == ["OK"] * 3
    assert rights("admin", "wrong")["influxdb login"] == "FAIL"
    reader = rights("reader", "reader-pw")
    assert (reader["influxdb database"], reader["influxdb write"], reader["influxdb read"]) == ("OK", "FAIL", "OK")
    writer = rights("writer", "writer-pw")
    assert (writer["influxdb database"], writer["influxdb write"], writer["influxdb read"]) == ("OK", "OK", "FAIL")


def test_influxdb_2_write_path_and_token_file(mosquitto, victoria_metrics, tmp_path) -> None:
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    influx = f'version = 2\nurl = "{victoria_metrics.url}"\norg = "o"\nbucket = "b"\ntoken_file = "{token}"'
    config = write_config(tmp_path / "c.toml", plain_mqtt(mosquitto), influx)
    checks = by_name(list(collector_checks(config, 3)))
    assert checks["influxdb write"].status == "OK", checks["influxdb write"]
    wait_until(lambda: victoria_metrics.export(f"{PROBE_MEASUREMENT}_probe"), 10, "the probe point stored")
    token.unlink()
    missing = by_name(list(collector_checks(config, 3)))["influxdb token"]
    assert missing.status == "FAIL" and str(token) in missing.detail


def test_a_collector_id_other_than_its_broker_user_is_warned_about(tls_broker, secrets, influxdb, influx_db,
                                                                   tmp_path) -> None:
    config = write_config(tmp_path / "c.toml", tls_mqtt(tls_broker, secrets), v1(influxdb, influx_db))
    Path(config).write_text(Path(config).read_text().replace('id = "fleetprint-collector"', 'id = "collector-2"'))
    identity = by_name(list(collector_checks(config, 3)))["collector id"]
    assert identity.status == "WARN" and "fleetprint-collector" in identity.detail
    assert "collector.id to fleetprint-collector" in identity.fix and "add-collector NAME" in identity.fix


def test_the_rollups_retention_policy_is_found_and_kept_longer_than_raw_points(mosquitto, influxdb, influx_db,
                                                                               tmp_path) -> None:
    def retention(policy: str) -> Check:
        config = write_config(tmp_path / "c.toml", plain_mqtt(mosquitto),
                              v1(influxdb, influx_db, f'rollup_retention_policy = "{policy}"'))
        return by_name(list(collector_checks(config, 3)))["influxdb retention"]

    missing = retention("rollups")
    assert missing.status == "FAIL" and "no retention policy rollups" in missing.detail
    assert missing.fix.startswith(f'CREATE RETENTION POLICY "rollups" ON "{influx_db}" DURATION INF REPLICATION 1')
    influxdb.query(f'CREATE RETENTION POLICY "rollups" ON "{influx_db}" DURATION INF REPLICATION 1')
    influxdb.query(f'ALTER RETENTION POLICY "autogen" ON "{influx_db}" DURATION 400d')
    found = retention("rollups")
    assert (found.status, found.detail) == ("OK", "raw points kept 400 days (autogen), rollups forever (rollups)")
    influxdb.query(f'ALTER RETENTION POLICY "autogen" ON "{influx_db}" DURATION 30d')
    influxdb.query(f'ALTER RETENTION POLICY "rollups" ON "{influx_db}" DURATION 20d')
    short = retention("rollups")
    assert short.status == "WARN" and "not as long as the collector takes late samples (90 days" in short.detail
    assert "rollups kept 20 days (rollups), no longer than raw points" in short.detail
    assert f'ALTER RETENTION POLICY "rollups" ON "{influx_db}" DURATION INF' in short.fix


def test_influxdb_2_rollups_bucket_must_be_read_through_its_mapping(mosquitto, victoria_metrics, tmp_path) -> None:
    """VictoriaMetrics takes the probe point but answers no InfluxQL: no mapping reads the bucket."""
    influx = (f'version = 2\nurl = "{victoria_metrics.url}"\norg = "o"\nbucket = "b"\ntoken = "t"\n'
              'rollup_retention_policy = "rollups"\nrollup_bucket = "b-rollups"')
    config = write_config(tmp_path / "c.toml", plain_mqtt(mosquitto), influx)
    check = by_name(list(collector_checks(config, 3)))["influxdb retention"]
    assert check.status == "FAIL" and "fleetprint.rollups does not read bucket b-rollups" in check.detail
    assert "influx v1 dbrp create --db fleetprint --rp rollups --bucket-id <id of b-rollups>" in check.fix
