"""Scheduled report delivery: the collector produces last month's report once its rollups hold the
month's last day, mails it through a real SMTP relay (aiosmtpd, STARTTLS and a login) and posts it
to a webhook, records each channel's outcome in InfluxDB, tries a failed channel again at the next
check and never sends a channel twice."""

from __future__ import annotations

import base64
import csv
import email
import hashlib
import hmac
import http.server
import io
import json
import logging
import ssl
import subprocess
import sys
import threading
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import msgspec
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner

from fleetprint.collector.config import CollectorConfig
from fleetprint.collector.store.influx_v1 import InfluxV1Sink
from fleetprint.collector.store.influxql import InfluxQL
from fleetprint.report.cli import report
from fleetprint.report.deliveries import ReportDeliveries, due_period
from fleetprint.report.period import month, year

from processes import Program, collector_config, wait_until
from services import free_port, quote_ident

HOSTS = 4


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_the_period_due_is_the_last_complete_month_or_year() -> None:
    assert due_period("month", utc(2026, 11, 1, 0, 5)) == month(2026, 10)
    assert due_period("month", utc(2026, 12, 31, 23, 59)) == month(2026, 11)
    assert due_period("month", utc(2027, 1, 1)) == month(2026, 12)
    assert due_period("year", utc(2027, 1, 2)) == year(2026)


class Relay:
    """An SMTP relay on loopback that requires STARTTLS and a login, keeping what it is given."""

    def __init__(self, tmp: Path) -> None:
        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.ca_file = tmp / "relay-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.logins: list[tuple[bytes, bytes]] = []
        relay = self

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:
                message = email.message_from_bytes(envelope.content, policy=default_policy)
                relay.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
            relay.logins.append((auth_data.login, auth_data.password) if isinstance(auth_data, LoginPassword)
                                else (b"", b""))
            return AuthResult(success=auth_data == LoginPassword(b"fleetprint", b"relay-secret"))

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(), tls_context=context,
                                     require_starttls=True, authenticator=authenticate, auth_require_tls=True)
        self.controller.start()
        self.port = self.controller.port

    def smtp_section(self, tmp: Path) -> str:
        """collector.toml's [report.smtp] for this relay, its password file written in `tmp`."""
        (tmp / "smtp-password").write_text("relay-secret\n")
        return (f'[report.smtp]\nhost = "127.0.0.1"\nport = {self.port}\nca_file = "{self.ca_file}"\n'
                f'username = "fleetprint"\npassword_file = "{tmp / "smtp-password"}"\n'
                'sender = "fleetprint@city.example"\n')


class Webhook(http.server.ThreadingHTTPServer):
    """An endpoint that answers 503 to its first post and 204 afterwards, keeping what it is given."""

    def __init__(self) -> None:
        received: list[tuple[dict[str, str], bytes]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers), body))
                self.send_response(503 if len(received) == 1 else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.received = received
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def last_month_stored(mosquitto, influxdb, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A 4-host fleet's last two days of the last month, stored and rolled up by a collector: (database, prefix)."""
    tmp = tmp_path_factory.mktemp("delivery-data")
    database = f"test_{uuid.uuid4().hex[:12]}"
    influxdb.create_database(database)
    prefix = f"delivery-test-{uuid.uuid4().hex[:8]}/v1"
    month_end = datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    config = collector_config(tmp / "collector.toml", mosquitto, influxdb, database, "delivery-data",
                              collector_extra="[rollups]\ninterval_s = 1\nlag_s = 0\n")
    collector = Program(["collector", "run", "-c", str(config)], tmp / "collector.log",
                        env={"FLEETPRINT_COLLECTOR_MQTT__TOPIC_PREFIX": prefix})
    try:
        wait_until(lambda: "subscribed to reports" in collector.log_text(), what="the collector", watch=[collector])
        done = subprocess.run([sys.executable, "-m", "fleetprint", "simulate", "--mqtt-port", str(mosquitto.port),
                               "--mqtt-topic-prefix", prefix, "--hosts", str(HOSTS), "--seed", "7", "--backfill", "2d",
                               "--to", f"{month_end:%Y-%m-%dT%H:%M}", "--interval", "3600"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        last_day = f"time >= '{month_end - timedelta(days=1):%Y-%m-%d}' AND time < '{month_end:%Y-%m-%d}'"
        wait_until(lambda: (rows := influxdb.query(f"SELECT sum(samples) FROM fp_host_1d WHERE {last_day}", database))
                   and rows[0]["sum"] == HOSTS * 24, what="the last day rolled up", watch=[collector])
    finally:
        assert collector.stop() == 0, collector.log_text()
    yield database, prefix
    influxdb.query(f"DROP DATABASE {quote_ident(database)}")


def test_last_months_report_is_mailed_and_posted_once_each(mosquitto, influxdb, last_month_stored, tmp_path) -> None:
    database, prefix = last_month_stored
    relay, hook = Relay(tmp_path), Webhook()
    (tmp_path / "hook-secret").write_text("hook-secret\n")
    out = tmp_path / "reports"
    extra = f"""
[rollups]
interval_s = 1
lag_s = 0
[budgets]
leader_settle_s = 0
[report]
lang = "fr"
tz = "Europe/Paris"
output_dir = "{out}"
check_interval_s = 1
{relay.smtp_section(tmp_path)}[[report.deliveries]]
name = "fleet-monthly"
formats = ["html", "csv"]
email_to = ["dsi@city.example", "elus@city.example"]
webhook_url = "http://127.0.0.1:{hook.server_address[1]}/reports"
webhook_secret_file = "{tmp_path / "hook-secret"}"
"""
    config = collector_config(tmp_path / "collector.toml", mosquitto, influxdb, database, "delivery-run",
                              collector_extra=extra)
    collector = Program(["collector", "run", "-c", str(config)], tmp_path / "collector.log",
                        env={"FLEETPRINT_COLLECTOR_MQTT__TOPIC_PREFIX": prefix})

    def records() -> dict[str, dict]:
        rows = influxdb.query("SELECT * FROM fp_report_delivery WHERE delivery = 'fleet-monthly' GROUP BY channel",
                              database)
        return {row["channel"]: row for row in rows}

    try:
        wait_until(lambda: records().get("webhook", {}).get("ok"), what="the webhook's second attempt recorded",
                   watch=[collector])
    finally:
        assert collector.stop() == 0, collector.log_text()
        relay.controller.stop()
        hook.shutdown()
    period = due_period("month", datetime.now(timezone.utc))
    stem = f"footprint-{period.slug}-fleet"
    assert sorted(path.name for path in (out / "fleet-monthly").iterdir()) == [f"{stem}-csv.zip", f"{stem}.html"]

    # the mail: once, through STARTTLS with the login, in French, the files attached
    assert relay.logins == [(b"fleetprint", b"relay-secret")]
    assert len(relay.messages) == 1, "the mail was sent again after it had gone"
    sender, recipients, message = relay.messages[0]
    assert (sender, recipients) == ("fleetprint@city.example", ["dsi@city.example", "elus@city.example"])
    record = records()
    kgco2e = record["email"]["total_gwp_gco2e"] / 1000
    assert message["Subject"].startswith("Empreinte du numérique – ")
    assert message["Subject"].endswith(f" : {kgco2e:.3g} kgCO2e".replace(".", ","))
    body = message.get_body(("plain",)).get_content()
    assert "l'ensemble du parc informatique a émis" in body and "C'est à peu près autant que :" in body
    assert f"{stem}.html, {stem}-csv.zip" in body
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(attachments) == {f"{stem}.html", f"{stem}-csv.zip"}
    assert attachments[f"{stem}.html"].get_content_type() == "text/html"
    mailed_html = attachments[f"{stem}.html"].get_payload(decode=True)
    assert b"<html" in mailed_html
    with zipfile.ZipFile(io.BytesIO(attachments[f"{stem}-csv.zip"].get_payload(decode=True))) as archive:
        totals = {row["criterion"]: row for row in csv.DictReader(io.StringIO(archive.read("totals.csv").decode()))}
    assert float(totals["Climate change (GWP)"]["total"]) == pytest.approx(kgco2e)

    # the webhook: refused once, then taken (the report produced again); signed, with the figures and the files
    assert len(hook.received) == 2
    first_files = {entry["name"]: entry for entry in json.loads(hook.received[0][1])["files"]}
    assert base64.b64decode(first_files[f"{stem}.html"]["content_base64"]) == mailed_html  # the same check's
    headers, raw = hook.received[1]
    assert headers["X-Fleetprint-Signature"] == "sha256=" + hmac.new(b"hook-secret", raw, hashlib.sha256).hexdigest()
    posted = json.loads(raw)
    assert (posted["schema"], posted["delivery"], posted["period"]) == ("fleetprint.report_delivery/1", "fleet-monthly",
                                                                         period.slug)
    assert posted["total_gwp_gco2e"] == pytest.approx(kgco2e * 1000)
    assert posted["text"].startswith("Empreinte du numérique")
    files = {entry["name"]: entry for entry in posted["files"]}
    content = base64.b64decode(files[f"{stem}.html"]["content_base64"])
    html = (out / "fleet-monthly" / f"{stem}.html").read_bytes()
    assert content == html and files[f"{stem}.html"]["sha256"] == hashlib.sha256(html).hexdigest()

    # the records: what was sent, to whom, after how many attempts, and the report's total from the raw points
    raw_total = influxdb.query(f"SELECT sum(usage_gwp_gco2e) + sum(embodied_gwp_gco2e) AS g FROM fp_host "
                               f"WHERE time >= {int(period.start.timestamp())}s AND time < "
                               f"{int(period.end.timestamp())}s", database)[0]["g"]
    assert record["email"]["total_gwp_gco2e"] == pytest.approx(raw_total, rel=1e-9)
    assert (record["email"]["ok"], record["email"]["attempts"]) == (True, 1)
    assert (record["webhook"]["ok"], record["webhook"]["attempts"]) == (True, 2)
    assert "dsi@city.example, elus@city.example" in record["email"]["detail"]
    assert record["email"]["period"] == period.slug
    log = collector.log_text()
    assert "sending it by webhook failed (attempt 1 of 12" in log and "503" in log


def test_a_reports_folder_it_cannot_write_stops_the_collector_at_start(influxdb, influx_db, tmp_path) -> None:
    (tmp_path / "a-file").write_text("")
    config = tmp_path / "collector.toml"
    config.write_text(f'[influxdb]\nurl = "{influxdb.url}"\ndatabase = "{influx_db}"\n[report]\n'
                      f'output_dir = "{tmp_path / "a-file" / "reports"}"\n[[report.deliveries]]\nname = "m"\n'
                      'webhook_url = "http://127.0.0.1:9/"\nformats = ["csv"]\n')
    done = subprocess.run([sys.executable, "-m", "fleetprint", "collector", "run", "-c", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"Error: invalid config {config}: report.output_dir: cannot write there: [Errno 20] Not a directory" \
        in done.stderr


def test_a_report_that_cannot_be_made_costs_an_attempt_and_is_given_up(influxdb, last_month_stored, tmp_path,
                                                                       caplog) -> None:
    """Its folder is a file: each check records a failed attempt per channel, until max_attempts; a period
    without data records nothing."""
    database, _ = last_month_stored
    caplog.set_level(logging.INFO, logger="fleetprint.report.deliveries")
    (tmp_path / "a-file").write_text("")
    config = msgspec.convert({
        "influxdb": {"url": influxdb.url, "database": database},
        "report": {"output_dir": str(tmp_path / "a-file"), "max_attempts": 2,
                   "deliveries": [{"name": "broken", "formats": ["csv"], "webhook_url": "http://127.0.0.1:9/"},
                                  {"name": "nothing", "formats": ["csv"], "webhook_url": "http://127.0.0.1:9/",
                                   "service": "nosuch"}]}}, CollectorConfig)
    now = datetime.now(timezone.utc)
    sink = InfluxV1Sink(influxdb.url, database)
    deliveries = ReportDeliveries(config, lambda: InfluxQL(influxdb.url, database), sink, lambda: now)
    period = due_period("month", now)
    for attempt in (1, 2, 3):
        assert deliveries.run(now) == 0
        outcome = deliveries.outcomes("broken", period)["webhook"]
        assert (outcome.ok, outcome.attempts) == (False, min(attempt, 2))
    assert deliveries.outcomes("nothing", period) == {}
    assert "gave up sending it by webhook after 2 attempts: producing the report failed" in caplog.text
    assert caplog.text.count("nothing to report yet") == 1


def test_report_deliver_sends_a_delivery_now_and_records_it(influxdb, last_month_stored, tmp_path) -> None:
    database, _ = last_month_stored
    relay = Relay(tmp_path)
    config = tmp_path / "collector.toml"
    config.write_text(f"""
[influxdb]
url = "{influxdb.url}"
database = "{database}"
[report]
output_dir = "{tmp_path / "reports"}"
{relay.smtp_section(tmp_path)}[[report.deliveries]]
name = "by-hand"
formats = ["csv"]
email_to = ["ops@city.example"]
""")
    period = due_period("month", datetime.now(timezone.utc))
    try:
        for attempt in (1, 2):  # sent again on demand, whatever was recorded
            done = CliRunner().invoke(report, ["-c", str(config), "--month", period.slug, "--deliver", "by-hand"])
            assert done.exit_code == 0, done.output
            assert done.output.startswith(f"email: sent: footprint-{period.slug}-fleet-csv.zip to ops@city.example")
            assert len(relay.messages) == attempt
        rows = influxdb.query("SELECT last(attempts) AS attempts, last(ok) AS ok FROM fp_report_delivery "
                              "WHERE delivery = 'by-hand'", database)
        assert (rows[0]["attempts"], rows[0]["ok"]) == (2, True)
        unknown = CliRunner().invoke(report, ["-c", str(config), "--month", period.slug, "--deliver", "nosuch"])
        assert unknown.exit_code == 2 and "--deliver nosuch: no such delivery" in unknown.output
    finally:
        relay.controller.stop()
