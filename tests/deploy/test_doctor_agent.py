"""`fleetprint doctor agent` against real services and recorded machines: healthy, and each planted
misconfiguration (broker, credentials, power sources, state directory, queue, clock)."""

from __future__ import annotations

import datetime as dt
import email.utils
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from stack import by_name, doctor

from fleetprint.agent.buffer import SampleBuffer
from fleetprint.agent.doctor import agent_checks
from fleetprint.schema import Sample

POWER = Path(__file__).resolve().parents[1] / "data" / "power"
HOST_ID = "compose-host"  # the agent make-secrets.sh gives broker credentials


def agent_toml(path: Path, broker, secrets: Path, state: Path, extra: str = "", password: str = "agent.secret") -> str:
    path.write_text(f'state_dir = "{state}"\n\n[host]\nid = "{HOST_ID}"\n\n[mqtt]\nhost = "127.0.0.1"\n'
                    f'port = {broker.tls_port}\ntls = true\nca_file = "{secrets / "ca.crt"}"\nusername = "{HOST_ID}"\n'
                    f'password_file = "{secrets / password}"\n{extra}')
    return str(path)


def recorded_machine(tmp_path: Path) -> Path:
    """A two-socket Xeon's /sys and /proc, with RAPL counters."""
    return Path(shutil.copytree(POWER / "xeon-2s-cascadelake", tmp_path / "root", symlinks=True))


def test_healthy_agent(tls_broker, secrets, tmp_path) -> None:
    config = agent_toml(tmp_path / "agent.toml", tls_broker, secrets, tmp_path / "state")
    code, output = doctor("agent", "-c", config, "--root", str(recorded_machine(tmp_path)))
    assert code == 0, output
    for line in ("OK    config", f"OK    host id              {HOST_ID} (host.id)", "OK    broker tls",
                 f"OK    broker login         MQTT v5 CONNECT accepted for user {HOST_ID}", "OK    power rapl",
                 "INFO  power ipmi           not configured", "OK    state dir", "OK    queue"):
        assert line in output, (line, output)


def test_unreadable_power_source_and_state_dir_without_privileges(tls_broker, secrets, tmp_path) -> None:
    """As the systemd unit runs it, but without CAP_DAC_READ_SEARCH: root's rights to read or write
    any file are dropped, as for a plain user, so mode 000 and 555 bite."""
    root = recorded_machine(tmp_path)
    for counter in (root / "sys/devices/virtual/powercap").rglob("energy_uj"):
        counter.chmod(0o000)
    state = tmp_path / "state"
    state.mkdir(mode=0o555)
    config = agent_toml(tmp_path / "agent.toml", tls_broker, secrets, state)
    code, output = doctor("agent", "-c", config, "--root", str(root), prefix=[
        "setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"])
    assert code == 1, output
    assert "WARN  power rapl           denied: energy_uj is readable by root only" in output
    assert "CAP_DAC_READ_SEARCH" in output
    assert f"FAIL  state dir            cannot write in {state}: Permission denied" in output
    assert "OK    broker login" in output  # the rest still runs


def test_broker_credential_problems(tls_broker, secrets, tmp_path) -> None:
    missing = agent_toml(tmp_path / "a.toml", tls_broker, secrets, tmp_path / "s", password="no-such.secret")
    checks = by_name(list(agent_checks(missing, None, timeout_s=3)))
    assert checks["broker credential"].status == "FAIL" and "add-host" in checks["broker credential"].fix
    assert "broker tcp" not in checks
    wrong = agent_toml(tmp_path / "b.toml", tls_broker, secrets, tmp_path / "s", password="collector.secret")
    login = by_name(list(agent_checks(wrong, None, timeout_s=3)))["broker login"]
    assert login.status == "FAIL" and f"add-host {HOST_ID}" in login.fix
    other_user = agent_toml(tmp_path / "c.toml", tls_broker, secrets, tmp_path / "s")
    Path(other_user).write_text(Path(other_user).read_text().replace(f'id = "{HOST_ID}"', 'id = "web-01"'))
    host = by_name(list(agent_checks(other_user, None, timeout_s=3)))["host id"]
    assert host.status == "WARN" and "ACL" in host.detail


def test_a_configured_bmc_that_cannot_be_read_fails(mosquitto, tmp_path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n[mqtt]\nport = {mosquitto.port}\n[power.ipmi]\nenabled = true\n')
    ipmi = by_name(list(agent_checks(str(config), None, tmp_path, timeout_s=3)))["power ipmi"]
    assert ipmi.status == "FAIL" and ipmi.detail.startswith(("absent", "denied", "unsupported", "error"))


def test_a_queue_that_does_not_drain(mosquitto, tmp_path) -> None:
    buffer = SampleBuffer(tmp_path / "buffer.sqlite3", 10)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    for minute in range(10):
        buffer.put(Sample(ts=old + dt.timedelta(minutes=minute), interval_s=30, cpu_util_pct=5))
    buffer.close()
    config = tmp_path / "agent.toml"
    config.write_text(f'state_dir = "{tmp_path}"\n[mqtt]\nport = {mosquitto.port}\n[buffer]\nmax_samples = 10\n')
    queue = by_name(list(agent_checks(str(config), None, tmp_path, timeout_s=3)))["queue"]
    assert queue.status == "WARN" and queue.detail.startswith("10 samples waiting") and "full" in queue.detail


class _SkewedClock(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204)  # send_response adds a true Date header: replace it below
        self.end_headers()

    def date_time_string(self, timestamp: float | None = None) -> str:
        return email.utils.formatdate(dt.datetime.now(dt.UTC).timestamp() + 600, usegmt=True)

    def log_message(self, *args: object) -> None:
        pass


def test_clock_skew_against_a_date_header(mosquitto, tmp_path) -> None:
    server = HTTPServer(("127.0.0.1", 0), _SkewedClock)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = tmp_path / "agent.toml"
        config.write_text(f'state_dir = "{tmp_path}"\n[mqtt]\nport = {mosquitto.port}\n')
        url = f"http://127.0.0.1:{server.server_port}/"
        clock = by_name(list(agent_checks(str(config), url, tmp_path, timeout_s=3)))["clock"]
    finally:
        server.shutdown()
    assert clock.status == "FAIL" and "behind" in clock.detail and "NTP" in clock.fix
    assert 598 <= float(clock.detail.split(" s ")[0]) <= 601


def test_bad_config_field(tmp_path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('[sampling]\ninterval_s = 0\n')
    code, output = doctor("agent", "-c", str(config))
    assert code == 1 and output.startswith("FAIL  config") and "sampling.interval_s" in output


def test_the_agent_doctor_loads_none_of_the_collector_dependencies() -> None:
    code = ("import sys; from fleetprint.doctor import doctor; from fleetprint.agent.doctor import agent_checks; "
            "print([m for m in ('boaviztapi', 'influxdb_client', 'urllib3', 'pandas') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr
