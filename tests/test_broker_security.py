"""No one in: the shipped broker configuration (TLS, one password per host, the ACL) run for
real, with credentials issued by `fleetprint broker`."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import trustme
from feeder import Feeder
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fleetprint.broker import COLLECTOR_USER
from fleetprint.collector.doctor import collector_checks
from fleetprint.mqtt import MqttSettings, Topics, make_client

from processes import Program, collector_config, wait_until
from services import Mosquitto, free_port

SHIPPED = Path(__file__).resolve().parent.parent / "deploy" / "mosquitto"
topics = Topics()


class ShippedMosquitto(Mosquitto):
    """deploy/mosquitto/mosquitto.conf and acl as shipped, with this test's ports, files and certificates."""

    def __init__(self, files: dict[str, Path], extra_config: tuple[str, ...] = ()) -> None:
        super().__init__(extra_config=extra_config)
        self.files = files
        self.tls_port = 0

    def _configure(self, tmp_dir: Path) -> None:
        self.port, self.tls_port = free_port(), free_port()
        (tmp_dir / "data").mkdir(exist_ok=True)
        replacements = {
            "password_file": str(self.files["passwd"]), "acl_file": str(self.files.get("acl", SHIPPED / "acl")),
            "cafile": str(self.files["ca"]), "certfile": str(self.files["cert"]), "keyfile": str(self.files["key"]),
            "persistence_location": f"{tmp_dir / 'data'}/",
        }
        lines = ["user root", f"log_dest file {self.log_path}"]
        for line in (SHIPPED / "mosquitto.conf").read_text().splitlines():
            key = line.split(" ", 1)[0]
            if line == "listener 8883":
                line = f"listener {self.tls_port} {self.host}"
            elif line == "listener 1883 127.0.0.1":
                line = f"listener {self.port} {self.host}"
            elif key in replacements:
                line = f"{key} {replacements[key]}"
            lines.append(line)
        (tmp_dir / "mosquitto.conf").write_text("\n".join([*lines, *self.extra_config]) + "\n")


def fleetprint_broker(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "fleetprint", "broker", *args], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def reload(broker: Mosquitto) -> None:
    """SIGHUP, and wait until the broker has read its password and ACL files again."""
    broker.reload()
    wait_until(lambda: "Reloading config" in broker.log_text() or "reload" in broker.log_text().lower(),
               what="the broker to reload")


def tls_files(directory: Path, server_name: str) -> dict[str, Path]:
    """A new CA, and a server certificate and key it signed for `server_name`: ca, cert, key .pem files."""
    ca = trustme.CA()
    files = {name: directory / f"{name}.pem" for name in ("ca", "cert", "key")}
    ca.cert_pem.write_to_path(str(files["ca"]))
    server = ca.issue_cert(server_name)
    server.cert_chain_pems[0].write_to_path(str(files["cert"]))
    server.private_key_pem.write_to_path(str(files["key"]))
    return files


@pytest.fixture
def secured(tmp_path: Path):
    """The shipped broker with a CA, a server certificate for 127.0.0.1, credentials for two hosts and the
    collectors' user, and a copy of the shipped ACL (for `add-collector NAME`)."""
    files = tls_files(tmp_path, "127.0.0.1")
    files["passwd"] = tmp_path / "passwd"
    files["acl"] = tmp_path / "acl"
    shutil.copyfile(SHIPPED / "acl", files["acl"])
    secrets = tmp_path / "secrets"
    for host in ("host-a", "host-b"):
        fleetprint_broker("add-host", host, "-p", str(files["passwd"]), "-o", str(secrets / host))
    fleetprint_broker("add-collector", "-p", str(files["passwd"]), "-o", str(secrets / COLLECTOR_USER))
    broker = ShippedMosquitto(files)
    broker.start(tmp_path / "broker")
    yield broker, files, secrets
    broker.stop()


def agent_settings(broker: ShippedMosquitto, files: dict[str, Path], secrets: Path, host: str,
                   ca_file: Path | None = None) -> MqttSettings:
    return MqttSettings(host="127.0.0.1", port=broker.tls_port, tls=True, ca_file=str(ca_file or files["ca"]),
                        username=host, password_file=str(secrets / host))


def connect(settings: MqttSettings, client_id: str):
    """A connected client and its CONNACK reason code (raises on a TLS failure)."""
    client = make_client(settings, client_id)
    answered = threading.Event()
    result = {}

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        result["reason"] = reason_code
        answered.set()

    client.on_connect = on_connect
    client.connect(settings.host, settings.port)
    client.loop_start()
    assert answered.wait(5), "no CONNACK"
    return client, result["reason"]


def collector_with_credentials(broker: ShippedMosquitto, secrets: Path, influxdb, influx_db: str, tmp_path: Path,
                               collector_id: str = "secure-collector", user: str = COLLECTOR_USER,
                               share_group: str = "") -> Program:
    """A collector process logged in as `user` (its password in secrets/<user>), on the broker's
    loopback listener."""
    config = collector_config(tmp_path / f"{collector_id}.toml", broker, influxdb, influx_db, collector_id,
                              share_group)
    password = (secrets / user).read_text().strip()
    config.write_text(config.read_text().replace("[mqtt]", f'[mqtt]\nusername = "{user}"\n'
                                                           f'password = "{password}"'))
    return Program(["collector", "run", "-c", str(config)], tmp_path / f"{collector_id}.log")


def test_agents_reach_the_collector_over_tls_with_their_credentials(secured, influxdb, influx_db, tmp_path) -> None:
    broker, files, secrets = secured
    password = (secrets / COLLECTOR_USER).read_text().strip()
    collector = collector_with_credentials(broker, secrets, influxdb, influx_db, tmp_path)
    feeder = Feeder("host-a", broker.tls_port, tmp_path / "agent",
                    mqtt=agent_settings(broker, files, secrets, "host-a"))
    try:
        wait_until(lambda: "subscribed to reports" in collector.log_text(), watch=[collector],
                   what="the collector's subscription")
        feeder.start()
        feeder.take(10)
        wait_until(lambda: influxdb.query("SELECT count(power_w) AS n FROM fp_host WHERE host = 'host-a'",
                                          influx_db) == [{"time": 0, "n": 10}], what="10 samples over TLS")
        assert "subscribed to reports, inventories, budget alerts, collectors' statuses, the broker's " \
               "dropped-message count" in collector.log_text(), "the ACL lets the collector watch broker drops"
    finally:
        feeder.stop()
        assert collector.stop() == 0
    assert password not in collector.log_text(), "no secret in the logs"


def test_a_broker_certificate_from_another_ca_is_refused(secured, tmp_path) -> None:
    broker, files, secrets = secured
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(agent_settings(broker, files, secrets, "host-a", ca_file=other_ca), "fleetprint-agent-host-a")


def test_no_anonymous_and_no_wrong_password(secured) -> None:
    broker, files, secrets = secured
    anonymous = MqttSettings(host="127.0.0.1", port=broker.port)
    client, reason = connect(anonymous, "anonymous")
    client.loop_stop()
    assert reason.is_failure and reason.value == 135  # Not authorized
    wrong = MqttSettings(host="127.0.0.1", port=broker.port, username="host-a", password="guess")
    client, reason = connect(wrong, "guesser")
    client.loop_stop()
    assert reason.is_failure


def test_host_a_cannot_publish_as_host_b(secured) -> None:
    broker, files, secrets = secured
    watcher, reason = connect(MqttSettings(host="127.0.0.1", port=broker.port, username=COLLECTOR_USER,
                                           password_file=str(secrets / COLLECTOR_USER)), "watcher")
    received: list[str] = []
    subscribed = threading.Event()
    watcher.on_message = lambda c, u, m: received.append(m.topic)
    watcher.on_subscribe = lambda *_: subscribed.set()
    watcher.subscribe(topics.all_reports, qos=1)
    assert subscribed.wait(5)
    host_a, reason = connect(agent_settings(broker, files, secrets, "host-a"), "fleetprint-agent-host-a")
    assert not reason.is_failure
    answers: dict[int, object] = {}
    acknowledged = threading.Event()

    def on_publish(client, userdata, mid, reason_code, properties) -> None:
        answers[mid] = reason_code
        if len(answers) == 2:
            acknowledged.set()

    host_a.on_publish = on_publish
    as_b = host_a.publish(topics.report("host-b"), b"{}", qos=1)
    as_a = host_a.publish(topics.report("host-a"), b"{}", qos=1)
    assert acknowledged.wait(5)
    assert answers[as_b.mid].is_failure and answers[as_b.mid].value == 135  # Not authorized
    assert not answers[as_a.mid].is_failure
    wait_until(lambda: topics.report("host-a") in received, what="host-a's own message")
    assert topics.report("host-b") not in received
    for client in (host_a, watcher):
        client.disconnect()
        client.loop_stop()


def test_a_host_using_the_collectors_client_id_cannot_take_its_session(secured, influxdb, influx_db,
                                                                        tmp_path) -> None:
    """Host A connects again and again with the collector's client id and a persistent session (as
    the collector does) while host B reports: every report B was acknowledged for is stored."""
    broker, files, secrets = secured
    collector_id = "secure-collector"
    collector = collector_with_credentials(broker, secrets, influxdb, influx_db, tmp_path, collector_id)
    feeder = Feeder("host-b", broker.tls_port, tmp_path / "agent", max_samples_per_report=1, max_reports_per_s=5,
                    mqtt=agent_settings(broker, files, secrets, "host-b"))
    intruder = make_client(agent_settings(broker, files, secrets, "host-a"), collector_id)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    connected = threading.Event()
    intruder.on_connect = lambda *_: connected.set()
    intruder.reconnect_delay_set(1, 1)  # comes back at once each time it is knocked off
    try:
        wait_until(lambda: "subscribed to reports" in collector.log_text(), watch=[collector],
                   what="the collector's subscription")
        intruder.connect_async("127.0.0.1", broker.tls_port, clean_start=False, properties=props)
        intruder.loop_start()
        assert connected.wait(5), "host A's credentials are valid: it may connect, under its own identity"
        feeder.start()
        feeder.take(25)
        wait_until(lambda: len(feeder.buffer) == 0, what="every report acknowledged by the broker")
        stored = lambda: sum(row["n"] for row in influxdb.query(  # noqa: E731
            "SELECT count(power_w) AS n FROM fp_host WHERE host = 'host-b'", influx_db))
        try:
            wait_until(lambda: stored() == 25, timeout_s=10)
        except AssertionError:
            pytest.fail(f"{stored()} of the 25 reports host B was acknowledged for are stored")
        assert "disconnected from the broker" not in collector.log_text(), "the collector kept its session"
    finally:
        intruder.disconnect()
        intruder.loop_stop()
        feeder.stop()
        assert collector.stop() == 0


def test_host_a_cannot_knock_host_b_off_with_its_client_id(secured) -> None:
    broker, files, secrets = secured
    host_b, reason = connect(agent_settings(broker, files, secrets, "host-b"), "fleetprint-agent-host-b")
    assert not reason.is_failure
    knocked_off = threading.Event()
    host_b.on_disconnect = lambda *_: knocked_off.set()
    host_a, reason = connect(agent_settings(broker, files, secrets, "host-a"), "fleetprint-agent-host-b")
    assert not reason.is_failure, "host A may connect, under its own identity"
    assert not knocked_off.wait(2), "host B was disconnected by host A's connection"
    for client in (host_a, host_b):
        client.disconnect()
        client.loop_stop()


def test_collectors_with_users_of_their_own_share_the_reports(secured, influxdb, influx_db, tmp_path) -> None:
    """Two collectors on one shared subscription, each with its user from `add-collector NAME` (the
    broker's client id) and the collectors' rights that added to the ACL: every report stored, and
    neither knocks the other off."""
    broker, files, secrets = secured
    users = [f"{COLLECTOR_USER}-{name}" for name in ("1", "2")]
    for name, user in zip(("1", "2"), users):
        fleetprint_broker("add-collector", name, "-p", str(files["passwd"]), "--acl-file", str(files["acl"]),
                          "-o", str(secrets / user))
    reload(broker)
    collectors = [collector_with_credentials(broker, secrets, influxdb, influx_db, tmp_path, collector_id=user,
                                             user=user, share_group="two") for user in users]
    feeder = Feeder("host-b", broker.tls_port, tmp_path / "agent", max_samples_per_report=1, max_reports_per_s=20,
                    mqtt=agent_settings(broker, files, secrets, "host-b"))
    try:
        for collector in collectors:
            wait_until(lambda: "subscribed to reports" in collector.log_text(), watch=collectors,
                       what="the collector's subscription")
        feeder.start()
        feeder.take(40)
        wait_until(lambda: influxdb.query("SELECT count(power_w) AS n FROM fp_host WHERE host = 'host-b'",
                                          influx_db) == [{"time": 0, "n": 40}], watch=collectors,
                   what="40 samples through two collectors")
        for collector in collectors:
            assert "disconnected from the broker" not in collector.log_text()
    finally:
        feeder.stop()
        for collector in collectors:
            assert collector.stop() == 0


def test_the_doctor_loses_no_report_queued_for_the_collector(secured, influxdb, influx_db, tmp_path) -> None:
    """The doctor logs in as the collector, whose client id is its user: it takes the collector's
    session. It must resume it, not discard it with the reports queued in it, and acknowledge
    nothing it is handed. Here the collector is stopped while host B reports, as when the doctor
    is run to find out why."""
    broker, files, secrets = secured
    start_collector = lambda: collector_with_credentials(  # noqa: E731
        broker, secrets, influxdb, influx_db, tmp_path, COLLECTOR_USER)
    collector = start_collector()
    wait_until(lambda: "subscribed to reports" in collector.log_text(), watch=[collector],
               what="the collector's subscription")
    assert collector.stop() == 0
    feeder = Feeder("host-b", broker.tls_port, tmp_path / "agent", max_samples_per_report=1,
                    mqtt=agent_settings(broker, files, secrets, "host-b"))
    try:
        feeder.start()
        feeder.take(30)
        wait_until(lambda: len(feeder.buffer) == 0, what="30 reports queued for the collector")
        checks = {check.name: check.status for check in collector_checks(str(tmp_path / f"{COLLECTOR_USER}.toml"), 3)}
        assert checks["broker login"] == checks["broker rights"] == "OK", checks
        collector = start_collector()
        wait_until(lambda: influxdb.query("SELECT count(power_w) AS n FROM fp_host WHERE host = 'host-b'",
                                          influx_db) == [{"time": 0, "n": 30}], watch=[collector],
                   what="the 30 reports queued while the collector was stopped")
    finally:
        feeder.stop()
        assert collector.stop() == 0


def test_the_doctor_leaves_no_collector_session_where_there_was_none(secured, tmp_path) -> None:
    broker, files, secrets = secured
    settings = MqttSettings(host="127.0.0.1", port=broker.port, username=COLLECTOR_USER,
                            password_file=str(secrets / COLLECTOR_USER))
    config = tmp_path / "collector.toml"
    config.write_text(f'[mqtt]\nport = {broker.port}\nusername = "{COLLECTOR_USER}"\n'
                      f'password_file = "{secrets / COLLECTOR_USER}"\n')
    assert {check.name: check.status for check in collector_checks(str(config), 3)}["broker login"] == "OK"
    client = make_client(settings, COLLECTOR_USER)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    present = []
    client.on_connect = lambda client, userdata, flags, *_: present.append(flags.session_present)
    client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    client.loop_start()
    wait_until(lambda: present, what="CONNACK")
    client.disconnect()
    client.loop_stop()
    assert present == [False]


def test_a_revoked_host_cannot_connect(secured) -> None:
    broker, files, secrets = secured
    settings = agent_settings(broker, files, secrets, "host-b")
    client, reason = connect(settings, "fleetprint-agent-host-b")
    assert not reason.is_failure
    client.disconnect()
    client.loop_stop()
    fleetprint_broker("revoke-host", "host-b", "-p", str(files["passwd"]))
    reload(broker)
    client, reason = connect(settings, "fleetprint-agent-host-b")
    client.loop_stop()
    assert reason.is_failure


def test_the_collector_reports_messages_the_broker_dropped(influxdb, influx_db, tmp_path) -> None:
    """A broker queue too small for a subscriber that is away: Mosquitto drops, and says so in $SYS."""
    broker = Mosquitto(extra_config=["max_queued_messages 5"])
    broker.start(tmp_path / "small-queues")
    collector = Program(["collector", "run", "-c", str(collector_config(
        tmp_path / "collector.toml", broker, influxdb, influx_db, "drops-collector"))], tmp_path / "collector.log")
    try:
        wait_until(lambda: "subscribed to reports" in collector.log_text(), watch=[collector],
                   what="the collector's subscription")
        away = make_client(MqttSettings(port=broker.port), "away-subscriber")
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        subscribed = threading.Event()
        away.on_subscribe = lambda *_: subscribed.set()
        away.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
        away.loop_start()
        away.subscribe("slow/topic", qos=1)
        assert subscribed.wait(5)
        away.disconnect()
        away.loop_stop()
        publisher, _ = connect(MqttSettings(port=broker.port), "busy-publisher")
        for _ in range(30):
            publisher.publish("slow/topic", b"x", qos=1).wait_for_publish(5)
        publisher.disconnect()
        publisher.loop_stop()
        rows = wait_until(lambda: influxdb.query(
            "SELECT last(broker_dropped_messages) AS n FROM fp_collector WHERE broker_dropped_messages > 0",
            influx_db), what="the drops in fp_collector", watch=[collector])
        assert rows[0]["n"] == 25
        assert "the broker dropped 25 messages" in collector.log_text()
    finally:
        assert collector.stop() == 0
        broker.stop()

