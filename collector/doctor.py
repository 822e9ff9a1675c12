"""`fleetprint doctor collector`: the collector's config, broker, InfluxDB rights and clock.

The write check stores one point in the measurement `fp_doctor` (tag `collector`, field
`probe`), which no dashboard reads; the read check reads it back with InfluxQL, as the
rollups, the budgets and Grafana do (through the DBRP mapping on InfluxDB 2.x/3.x). The
retention check finds the rollups' retention policy (1.x) or bucket and its mapping (2.x), the
latter with a probe point too, and compares how long rollups and raw points are kept (1.x).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlencode

from fleetprint.broker_acl import COLLECTOR_USER
from fleetprint.collector.config import CollectorConfig, load_collector_config
from fleetprint.collector.settings import InfluxSettings
from fleetprint.doctor_broker import broker_checks
from fleetprint.doctor_checks import Check, clock_against, load_checked
from fleetprint.mqtt import Topics

PROBE_MEASUREMENT = "fp_doctor"


def collector_checks(config_path: str | None, timeout_s: float = 5.0) -> Iterator[Check]:
    """Every check, in order; stops after a config that cannot be used."""
    config_check, config = load_checked(load_collector_config, config_path)
    yield config_check
    if config is None:
        return
    yield identity_check(config)
    # Under collectors/, which only the collectors may read and write; they subscribe to collectors/+/status.
    probe = f"{Topics(config.mqtt.topic_prefix).prefix}/collectors/doctor"
    yield from broker_checks(config.mqtt, config.mqtt.username or COLLECTOR_USER, probe, timeout_s,
                             session_expiry_s=config.collector.session_expiry_s)
    yield from influx_checks(config, timeout_s)


def identity_check(config: CollectorConfig) -> Check:
    """The broker keys the collector's session by its user name (the shipped config's
    use_username_as_clientid); its status topic and budget leadership go by `collector.id`."""
    collector_id, user = config.collector.id, config.mqtt.username
    fix = (f"set collector.id to {user}; give every collector a user of its own "
           "(`fleetprint broker add-collector NAME`, user fleetprint-collector-NAME)")
    if user is None:
        return Check("collector id", "INFO", f"{collector_id}, no mqtt.username: the broker keys the session by "
                     "the client id, collector.id")
    if not (user == COLLECTOR_USER or user.startswith(COLLECTOR_USER + "-")):
        return Check("collector id", "WARN", f"mqtt.username {user} is not a collector's user "
                     f"({COLLECTOR_USER}[-NAME])", fix)
    if collector_id != user:
        return Check("collector id", "WARN", f"{collector_id}, but the broker knows this collector's session as "
                     f"its user, {user}: two collectors sharing a user take the session from each other", fix)
    return Check("collector id", "OK", f"{collector_id}, its broker user and client id")


class _Http:
    """Small HTTP calls to one InfluxDB: (status, headers, body), OSError when unreachable."""

    def __init__(self, settings: InfluxSettings, token: str | None, timeout_s: float) -> None:
        self.base = settings.url.rstrip("/")
        self.timeout_s = timeout_s
        self.headers = {"Authorization": f"Token {token}"} if token else {}
        self.auth = {"u": settings.username, "p": settings.password or ""} if settings.username else {}

    def call(self, method: str, path: str, params: dict[str, str], body: bytes | None = None):
        query = urlencode({**params, **self.auth}) if params or self.auth else ""
        request = urllib.request.Request(f"{self.base}{path}{'?' + query if query else ''}", data=body,
                                         headers=self.headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()


def influx_checks(config: CollectorConfig, timeout_s: float) -> Iterator[Check]:
    """Reachable, the database or bucket there, the right to write and to read, the clock."""
    settings = config.influxdb
    try:
        token = settings.secret_token() if settings.version == 2 else None
    except OSError as exc:
        yield Check("influxdb token", "FAIL", f"cannot read influxdb.token_file {settings.token_file}: {exc.strerror}",
                    "write the InfluxDB token in it (readable by the collector's user only)")
        return
    http = _Http(settings, token, timeout_s)
    try:
        status, headers, _ = http.call("GET", "/ping", {})
    except (OSError, ValueError) as exc:
        yield Check("influxdb", "FAIL", f"cannot reach {settings.url}: {getattr(exc, 'reason', exc)}",
                    "check influxdb.url, that InfluxDB runs, and firewalls between")
        return
    version = headers.get("X-Influxdb-Version", "unknown version")
    if status != 204:
        yield Check("influxdb", "FAIL", f"{settings.url}/ping answered {status}: is this InfluxDB?",
                    "point influxdb.url at InfluxDB's HTTP API (port 8086)")
        return
    yield Check("influxdb", "OK", f"{settings.url} answers (InfluxDB {version})")
    if settings.version == 1:
        yield from _v1_rights(http, settings, config.collector.id)
        yield from _v1_retention(http, settings, config.collector.max_sample_age_days)
    else:
        yield from _v2_rights(http, settings, config.collector.id)
        if settings.rollup_bucket:
            yield _v2_rollup_bucket(http, settings, config.collector.id)
    yield clock_against(f"{http.base}/ping", timeout_s=timeout_s)


def _probe_line(collector_id: str) -> bytes:
    return f"{PROBE_MEASUREMENT},collector={collector_id} probe=1i {int(time.time() * 1000)}".encode()


def _influxql_error(status: int, body: bytes) -> str | None:
    """The error of an InfluxQL answer, or None when it succeeded."""
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}"
    if "error" in answer:
        return str(answer["error"])
    if "message" in answer:  # InfluxDB 2.x's v1 API errors
        return str(answer["message"])
    errors = [result["error"] for result in answer.get("results", []) if "error" in result]
    return "; ".join(errors) if errors else (None if status == 200 else f"HTTP {status}")


def _v1_rights(http: _Http, settings: InfluxSettings, collector_id: str) -> Iterator[Check]:
    user = settings.username or "(no user)"
    status, _, body = http.call("POST", "/query", {"q": "SHOW DATABASES"})
    if status == 401:
        yield Check("influxdb login", "FAIL", f"InfluxDB refused {user}: {_influxql_error(status, body)}",
                    "set influxdb.username and influxdb.password to an InfluxDB user's")
        return
    error = _influxql_error(status, body)
    names = [] if error else [row[0] for result in json.loads(body).get("results", [])
                              for series in result.get("series", []) for row in series.get("values", [])]
    if settings.database not in names:
        if settings.create_database:
            yield Check("influxdb database", "WARN", f"{settings.database} not found{f' ({error})' if error else ''}:"
                        " the collector creates it at start, which needs an admin user",
                        f"CREATE DATABASE \"{settings.database}\" as an admin, or run the collector once as one")
            return
        yield Check("influxdb database", "FAIL", f"{settings.database} not found{f' ({error})' if error else ''}"
                    f" for {user}", f"CREATE DATABASE \"{settings.database}\" (and GRANT ALL ON it TO the "
                    "collector's user), or set influxdb.create_database = true")
        return
    yield Check("influxdb database", "OK", f"{settings.database} exists")
    status, _, body = http.call("POST", "/write", {"db": settings.database, "precision": "ms"},
                                _probe_line(collector_id))
    if status != 204:
        yield Check("influxdb write", "FAIL", f"{user} may not write to {settings.database}: HTTP {status} "
                    f"{body[:200].decode('utf-8', 'replace').strip()}",
                    f"GRANT WRITE ON \"{settings.database}\" TO \"{settings.username}\" (as an admin)")
    else:
        yield Check("influxdb write", "OK", f"a probe point written to {settings.database}.{PROBE_MEASUREMENT}")
    yield _read(http, settings.database, user, collector_id,
                f"GRANT READ ON \"{settings.database}\" TO \"{settings.username}\" (the rollups and budgets read)")


def _v2_rights(http: _Http, settings: InfluxSettings, collector_id: str) -> Iterator[Check]:
    status, _, body = http.call("POST", "/api/v2/write", {"org": settings.org, "bucket": settings.bucket,
                                                         "precision": "ms"}, _probe_line(collector_id))
    detail = body[:200].decode("utf-8", "replace").strip()
    if status == 401:
        yield Check("influxdb write", "FAIL", f"the token is refused: {detail}",
                    "set influxdb.token_file to a valid token's file")
    elif status == 404:
        yield Check("influxdb write", "FAIL", f"org {settings.org} or bucket {settings.bucket} not found: {detail}",
                    "create the bucket (influx bucket create) or correct influxdb.org and influxdb.bucket")
    elif status == 403:
        yield Check("influxdb write", "FAIL", f"the token may not write to {settings.bucket}: {detail}",
                    "give the token write permission on the bucket (influx auth create --write-bucket ID)")
    elif status != 204:
        yield Check("influxdb write", "FAIL", f"HTTP {status}: {detail}", "see InfluxDB's log")
    else:
        yield Check("influxdb write", "OK", f"a probe point written to {settings.bucket}.{PROBE_MEASUREMENT}")
    yield _read(http, settings.database, "the token", collector_id,
                f"map the database to the bucket: influx v1 dbrp create --db {settings.database} --rp autogen "
                f"--bucket-id <id of {settings.bucket}> --default; give the token read permission on it")


def _read(http: _Http, database: str, who: str, collector_id: str, fix: str) -> Check:
    statement = f"SELECT count(probe) FROM {PROBE_MEASUREMENT} WHERE collector = '{collector_id}'"
    status, _, body = http.call("POST", "/query", {"db": database, "q": statement})
    error = _influxql_error(status, body)
    if error:
        return Check("influxdb read", "FAIL", f"{who} cannot query database {database} with InfluxQL: {error}", fix)
    return Check("influxdb read", "OK", f"InfluxQL queries on {database} answer")


CREATE_POLICY = ('CREATE RETENTION POLICY "{rp}" ON "{db}" DURATION INF REPLICATION 1 SHARD DURATION 52w '
                 '(docs/storage.md, "Retention")')


def _seconds(duration: str) -> float:
    """InfluxDB's `9600h0m0s` in seconds; 0 is forever."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(number) * units[unit] for number, unit in re.findall(r"([\d.]+)([hms])", duration))


def _kept(seconds: float) -> str:
    return f"{seconds / 86400:g} days" if seconds else "forever"


def _v1_retention(http: _Http, settings: InfluxSettings, max_sample_age_days: float) -> Iterator[Check]:
    """The rollups' retention policy there and keeping them longer than the default one keeps raw points,
    which must outlast the samples the collector still takes; nothing to say when both keep all forever."""
    database, policy = settings.database, settings.rollup_retention_policy
    status, _, body = http.call("POST", "/query", {"q": f'SHOW RETENTION POLICIES ON "{database}"'})
    if _influxql_error(status, body):
        return  # no database, or no right to see it: said by the checks before
    policies = {row[0]: (_seconds(row[1]), row[-1]) for result in json.loads(body).get("results", [])
                for series in result.get("series", []) for row in series.get("values", [])}
    raw_name, (raw_s, _) = next(((name, kept) for name, kept in policies.items() if kept[1]), ("autogen", (0.0, True)))
    if policy and policy not in policies:
        yield Check("influxdb retention", "FAIL", f"no retention policy {policy} on {database} for the rollups "
                    f"(influxdb.rollup_retention_policy)", CREATE_POLICY.format(rp=policy, db=database))
        return
    problems, fixes = [], []
    if raw_s and raw_s < (max_sample_age_days + 1) * 86400:
        problems.append(f"raw points kept {_kept(raw_s)} ({raw_name}), not as long as the collector takes late "
                        f"samples ({max_sample_age_days:g} days, collector.max_sample_age_days): InfluxDB refuses them")
        fixes.append(f'ALTER RETENTION POLICY "{raw_name}" ON "{database}" DURATION 400d')
    rollup_s = policies[policy][0] if policy else raw_s
    if rollup_s and (not raw_s or rollup_s <= raw_s):
        problems.append(f"rollups kept {_kept(rollup_s)} ({policy or raw_name}), no longer than raw points")
        fixes.append(f'ALTER RETENTION POLICY "{policy}" ON "{database}" DURATION INF' if policy else
                     CREATE_POLICY.format(rp="rollups", db=database) + ", and set influxdb.rollup_retention_policy")
    if problems:
        yield Check("influxdb retention", "WARN", "; ".join(problems), "; ".join(fixes))
    elif policy or raw_s:
        yield Check("influxdb retention", "OK", f"raw points kept {_kept(raw_s)} ({raw_name}), "
                    f"rollups {_kept(rollup_s)} ({policy or raw_name})")


def _v2_rollup_bucket(http: _Http, settings: InfluxSettings, collector_id: str) -> Check:
    """A probe point written to the rollups' bucket, read back as `"rp"."fp_doctor"` in the database."""
    bucket, database, policy = settings.rollup_bucket, settings.database, settings.rollup_retention_policy
    mapping = (f"influx v1 dbrp create --db {database} --rp {policy} --bucket-id <id of {bucket}> "
               '(docs/storage.md, "Retention")')
    status, _, body = http.call("POST", "/api/v2/write", {"org": settings.org, "bucket": bucket, "precision": "ms"},
                                _probe_line(collector_id))
    if status != 204:
        return Check("influxdb retention", "FAIL", f"cannot write to the rollups' bucket {bucket}: HTTP {status} "
                     f"{body[:200].decode('utf-8', 'replace').strip()}",
                     f"influx bucket create --name {bucket} --retention 0 (and give the token write permission "
                     f"on it); {mapping}")
    statement = f'SELECT count(probe) FROM "{policy}"."{PROBE_MEASUREMENT}" WHERE collector = \'{collector_id}\''
    status, _, body = http.call("POST", "/query", {"db": database, "q": statement})
    error = _influxql_error(status, body)
    if error or not any(series.get("name") == PROBE_MEASUREMENT for result in json.loads(body).get("results", [])
                        for series in result.get("series", [])):
        return Check("influxdb retention", "FAIL", f"{database}.{policy} does not read bucket {bucket}"
                     f"{f': {error}' if error else ''}", mapping)
    return Check("influxdb retention", "OK", f"rollups written to bucket {bucket}, read as {database}.{policy}")
