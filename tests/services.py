"""Real Mosquitto and InfluxDB 1.x daemons run as child processes for tests.

Each daemon gets its own config file, data directory, log file and free ports on
127.0.0.1, so tests never touch a system-wide service and can run side by side.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Sequence

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.02
_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


class ServiceError(RuntimeError):
    """A daemon that did not start, or stopped when it should have been running."""


class InfluxQueryError(RuntimeError):
    """An InfluxQL statement that InfluxDB answered with an error."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free when asked (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def which(program: str) -> str | None:
    """Path of a daemon binary, also looking in the sbin directories a non-root PATH lacks."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN])
    return shutil.which(program, path=path)


class _Daemon:
    """A daemon run in the foreground from a config file in its own directory."""

    program: str
    host = HOST

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def dir(self) -> Path:
        """The directory holding the config, data and log (set by `start`)."""
        if self._dir is None:
            raise ServiceError(f"{self.program} was never started")
        return self._dir

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.program}.log"

    @property
    def pid(self) -> int:
        """The running daemon's process id (bench/ measures its CPU)."""
        if self._proc is None:
            raise ServiceError(f"{self.program} was never started")
        return self._proc.pid

    def start(self, tmp_dir: Path) -> None:
        """Pick ports, write the config into `tmp_dir`, start the daemon and wait until it serves."""
        if self._proc is not None:
            raise ServiceError(f"{self.program} is already running")
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self._dir = tmp_dir
        self._configure(tmp_dir)
        self._spawn()

    def restart(self) -> None:
        """Stop, then start again with the same config, ports and data."""
        self.stop()
        self._spawn()

    def stop(self) -> None:
        """SIGTERM, wait for a clean exit, SIGKILL if it takes too long. Does nothing if not running."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def log_text(self) -> str:
        """Everything the daemon logged so far, across restarts."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def _configure(self, tmp_dir: Path) -> None:
        """Allocate ports and write the config file."""
        raise NotImplementedError

    def _args(self) -> list[str]:
        """Command-line arguments after the binary."""
        raise NotImplementedError

    def _ready(self) -> bool:
        """Whether the daemon answers yet."""
        raise NotImplementedError

    def _spawn(self) -> None:
        binary = which(self.program)
        if binary is None:
            raise ServiceError(f"{self.program} not found on PATH or in {', '.join(_SBIN)}")
        # influxd lets INFLUXDB_* variables override its config file: keep ours authoritative.
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}
        # The daemon's own log and its stdout/stderr (where config errors go) append to one file.
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [binary, *self._args()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._ready():
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                raise ServiceError(f"{self.program} exited with status {code}:\n{self._tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise ServiceError(f"{self.program} not ready after {START_TIMEOUT_S:.0f} s:\n{self._tail()}")
            time.sleep(POLL_S)

    def _tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class Mosquitto(_Daemon):
    """A Mosquitto 2.x broker with persistence, unlimited queues and a 1 s $SYS interval by default."""

    program = "mosquitto"

    def __init__(self, extra_config: Sequence[str] = (), allow_anonymous: bool = True, sys_interval: int = 1) -> None:
        """`extra_config`: more mosquitto.conf lines, e.g. `password_file /path` or `acl_file /path`;
        `sys_interval`: seconds between $SYS updates (Mosquitto's default is 10, 0 turns $SYS off)."""
        super().__init__()
        self.extra_config = list(extra_config)
        self.allow_anonymous = allow_anonymous
        self.sys_interval = sys_interval
        self.port = 0

    def _configure(self, tmp_dir: Path) -> None:
        self.port = free_port()
        data = tmp_dir / "data"
        data.mkdir(exist_ok=True)
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            "user root",  # as root, mosquitto would otherwise switch to user 'mosquitto'
            "persistence true",
            f"persistence_location {data}/",
            "max_queued_messages 0",
            "max_queued_bytes 0",
            "max_inflight_messages 10000",  # the collector acknowledges after writing: let batches fill
            f"log_dest file {self.log_path}",
            *(f"log_type {kind}" for kind in ("error", "warning", "notice", "information")),
            f"sys_interval {self.sys_interval}",
            *self.extra_config,
        ]
        (tmp_dir / "mosquitto.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _args(self) -> list[str]:
        return ["-c", str(self.dir / "mosquitto.conf")]

    def _ready(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads its password and ACL files again."""
        if self._proc is None:
            raise ServiceError("mosquitto is not running")
        self._proc.send_signal(signal.SIGHUP)


class InfluxDB(_Daemon):
    """An InfluxDB 1.x server with an HTTP API on a free port and no background jobs."""

    program = "influxd"

    def __init__(self, max_body_bytes: int = 25_000_000, index: str = "inmem") -> None:
        super().__init__()
        self.port = 0
        self.rpc_port = 0
        self.max_body_bytes = max_body_bytes  # influxd's default; larger writes get HTTP 413
        self.index = index  # "inmem" (influxd's default) or "tsi1", the disk-based index for many series

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def create_database(self, name: str) -> None:
        """CREATE DATABASE `name` (does nothing if it exists)."""
        self.query(f"CREATE DATABASE {quote_ident(name)}")

    def query(self, influxql: str, db: str | None = None, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Run InfluxQL; return every row of every series as {tag or column: value}, times in epoch ms."""
        params = {"q": influxql, "epoch": "ms", **({"db": db} if db else {})}
        request = urllib.request.Request(
            f"{self.url}/query", data=urllib.parse.urlencode(params).encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()
            raise InfluxQueryError(f"{influxql!r}: HTTP {exc.code}: {detail}") from exc
        if "error" in body:
            raise InfluxQueryError(f"{influxql!r}: {body['error']}")
        rows: list[dict[str, Any]] = []
        for result in body.get("results", []):
            if "error" in result:
                raise InfluxQueryError(f"{influxql!r}: {result['error']}")
            for series in result.get("series", []):
                tags = series.get("tags") or {}
                columns = series["columns"]
                rows.extend({**tags, **dict(zip(columns, values))} for values in series.get("values", []))
        return rows

    def _configure(self, tmp_dir: Path) -> None:
        self.port = free_port()
        self.rpc_port = free_port()
        # Keys as printed by `influxd config`; Debian's build reads `reporting-enabled`, not upstream's
        # `reporting-disabled`. Unknown keys are silently ignored, so check there before adding any.
        config = f"""\
reporting-enabled = false
bind-address = "{self.host}:{self.rpc_port}"

[meta]
  dir = "{tmp_dir / 'meta'}"

[data]
  dir = "{tmp_dir / 'data'}"
  wal-dir = "{tmp_dir / 'wal'}"
  query-log-enabled = false
  index-version = "{self.index}"

[http]
  bind-address = "{self.host}:{self.port}"
  log-enabled = false
  max-body-size = {self.max_body_bytes}

[logging]
  level = "warn"

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
"""
        (tmp_dir / "influxdb.conf").write_text(config, encoding="utf-8")

    def _args(self) -> list[str]:
        return ["-config", str(self.dir / "influxdb.conf")]

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=0.5) as response:
                status: int = response.status
        except OSError:
            return False
        return status == 204


def quote_ident(name: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class VictoriaMetrics(_Daemon):
    """Debian's VictoriaMetrics: a real receiver of InfluxDB 2.x's `/api/v2/write`."""

    program = "victoria-metrics"

    def __init__(self) -> None:
        super().__init__()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _configure(self, tmp_dir: Path) -> None:
        self.port = free_port()
        (tmp_dir / "data").mkdir(exist_ok=True)

    def _args(self) -> list[str]:
        return [f"-storageDataPath={self.dir / 'data'}", f"-httpListenAddr={self.host}:{self.port}",
                "-loggerLevel=ERROR"]

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=0.5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def export(self, metric_regex: str) -> list[dict[str, Any]]:
        """Every stored series whose name matches, after flushing recent writes to be searchable."""
        urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=5).close()
        query = urllib.parse.urlencode({"match[]": f'{{__name__=~"{metric_regex}"}}'})
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=5) as response:
            return [json.loads(line) for line in response.read().decode("utf-8").splitlines() if line]
