"""The deployment's own pieces run for real in tests: the shipped broker config with the secrets
deploy/compose/make-secrets.sh writes, an InfluxDB 1.x with authentication, and `fleetprint doctor`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from test_broker_security import ShippedMosquitto

from fleetprint.doctor_checks import Check

from services import InfluxDB

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def make_secrets(out: Path) -> Path:
    """deploy/compose/make-secrets.sh into `out` (broker certificate for localhost and 127.0.0.1)."""
    result = subprocess.run(["bash", str(DEPLOY / "compose/make-secrets.sh"), str(out)], capture_output=True,
                            text=True, timeout=60, env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
    assert result.returncode == 0, result.stderr
    return out


def shipped_broker(secrets: Path, tmp: Path) -> ShippedMosquitto:
    """deploy/mosquitto as shipped, with the compose stack's secrets."""
    broker = ShippedMosquitto({"passwd": secrets / "mosquitto.passwd", "ca": secrets / "ca.crt",
                               "cert": secrets / "server.crt", "key": secrets / "server.key"})
    broker.start(tmp)
    return broker


class AuthInfluxDB(InfluxDB):
    """InfluxDB 1.x with `auth-enabled`: an admin, a writer, a reader."""

    users = {"admin": "admin-pw", "writer": "writer-pw", "reader": "reader-pw"}

    def _configure(self, tmp_dir: Path) -> None:
        super()._configure(tmp_dir)
        config = tmp_dir / "influxdb.conf"
        config.write_text(config.read_text().replace("[http]\n", "[http]\n  auth-enabled = true\n"))

    def setup_users(self, database: str) -> None:
        """The first user may be created without credentials; everything else needs the admin's."""
        self.query("CREATE USER admin WITH PASSWORD 'admin-pw' WITH ALL PRIVILEGES")
        self.admin_query(f'CREATE DATABASE "{database}"')
        for user in ("writer", "reader"):
            self.admin_query(f"CREATE USER {user} WITH PASSWORD '{self.users[user]}'")
        self.admin_query(f'GRANT WRITE ON "{database}" TO writer')
        self.admin_query(f'GRANT READ ON "{database}" TO reader')

    def admin_query(self, statement: str) -> None:
        import urllib.parse
        import urllib.request

        auth = urllib.parse.urlencode({"u": "admin", "p": "admin-pw"})
        data = urllib.parse.urlencode({"q": statement}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/query?{auth}", data=data), timeout=10).close()


def doctor(*args: str, prefix: list[str] | None = None, timeout_s: float = 60) -> tuple[int, str]:
    """`fleetprint doctor ...` as a process (run through `prefix`, e.g. setpriv): exit code and output."""
    result = subprocess.run([*(prefix or []), sys.executable, "-m", "fleetprint", "doctor", *args],
                            capture_output=True, text=True, timeout=timeout_s)
    return result.returncode, result.stdout + result.stderr


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}
