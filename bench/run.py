"""fleetprint benchmarks (DESIGN §8): one command, real daemons on loopback, medians, ratios.

    .venv/bin/python bench/run.py                 # normal: 3 runs of each throughput case
    .venv/bin/python bench/run.py --quick         # short: 1 run, smaller loads
    .venv/bin/python bench/run.py --only collector,agent
    .venv/bin/python bench/run.py --only fleet --fleet-hosts 100000 --fleet-minutes 10

Parts (`--only`): collector (the real collector vs the bare paho pipeline), scaleout (one vs
two collectors on one shared subscription), agent (sampler CPU, agent RSS, node_exporter),
fleet (a simulated fleet held live at a 30 s interval). Mosquitto and InfluxDB are started
here on free loopback ports with temporary directories (tests/services.py), and stopped at
the end. Prints a table and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tests"))

from processes import wait_until  # noqa: E402  (tests/processes.py)
from services import InfluxDB, InfluxQueryError, Mosquitto, free_port, which  # noqa: E402  (tests/services.py)

PY = sys.executable
INTERVAL_S = 30
PARTS = ("collector", "scaleout", "agent", "fleet")
TARGETS = {
    "collector_vs_bare": 0.9,       # collector reports/s >= 0.9 x bare pipeline
    "bytes_per_host": 2048,         # collector memory per known host < 2 KiB
    "agent_vs_node_exporter": 0.5,  # agent CPU per sample <= half a node_exporter scrape
    "agent_rss_mb": 30.0,           # agent resident memory <= 30 MB
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def family(proc: psutil.Process) -> list[psutil.Process]:
    """A process and its children (the collector's MQTT session runs in one): measured together."""
    return [proc, *proc.children(recursive=True)]


class Child:
    """A child process with its output in a log file; stopped by its own pid only."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env={**os.environ, **(env or {})})
        self.ps = psutil.Process(self.popen.pid)

    def text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout_s: float = 20.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()
        return self.popen.returncode


# -- workload ------------------------------------------------------------------------------

def build_workload(hosts: int, reports: int, publishers: int, out: Path) -> dict[str, Any]:
    """Inventories (one file) and `reports` one-sample reports (one file per publisher, each
    publisher owning a slice of the hosts so that a host's reports stay in order)."""
    from fleetprint.schema import Report, encode
    from fleetprint.simulator.fleet import FleetSpec, generate_fleet
    from fleetprint.simulator.load import LoadModel

    fleet = generate_fleet(hosts, 1, date.today(), FleetSpec())
    taken = datetime.now(timezone.utc)
    inventories = [(f"hosts/{h.host_id}/inventory", encode(h.inventory(taken)), True) for h in fleet]
    models = [LoadModel(h) for h in fleet]
    rounds = -(-reports // hosts)
    base = (int(time.time()) // INTERVAL_S - rounds - 10) * INTERVAL_S  # distinct, recent timestamps
    slices: list[list[tuple[str, bytes, bool]]] = [[] for _ in range(publishers)]
    made = 0
    for r in range(rounds):
        ts = base + r * INTERVAL_S
        for i, model in enumerate(models):
            if made == reports:
                break
            host_id = model.host.host_id
            payload = encode(Report(host_id=host_id, seq=ts // INTERVAL_S, samples=[model.sample(ts, INTERVAL_S)]))
            slices[i % publishers].append((f"hosts/{host_id}/report", payload, False))
            made += 1
    files = {"inventory": out / "inventories.pkl", "reports": [], "hosts": out / "hosts.json"}
    files["inventory"].write_bytes(pickle.dumps(inventories))
    files["hosts"].write_text(json.dumps({h.host_id: {"kind": h.kind, "site": h.site.name, "zone": h.site.zone or "FRA",
                                                      "services": [service.name for service, _ in h.services]}
                                          for h in fleet}))
    for n, part in enumerate(slices):
        path = out / f"reports-{n}.pkl"
        path.write_bytes(pickle.dumps(part))
        files["reports"].append(path)
    sizes = [len(p) for part in slices for _, p, _ in part]
    return {"hosts": hosts, "reports": made, "files": files, "mean_payload_bytes": sum(sizes) / len(sizes)}


def publish(mosquitto: Mosquitto, files: list[Path], prefix: str, workdir: Path, tag: str) -> list[Child]:
    return [Child([PY, str(BENCH / "publisher.py"), "--file", str(f), "--port", str(mosquitto.port),
                   "--prefix", prefix, "--client-id", f"{tag}-pub-{n}"], workdir / f"{tag}-pub-{n}.log")
            for n, f in enumerate(files)]


def publisher_results(children: list[Child], timeout_s: float) -> list[dict[str, Any]]:
    results = []
    for child in children:
        try:
            child.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            child.popen.kill()
        child.stop()
        lines = [line for line in child.text().splitlines() if line.startswith("{")]
        results.append(json.loads(lines[-1]) if lines else {"error": child.text()[-500:]})
    return results


QUERY_TIMEOUT_S = 120.0  # a count over a 100,000-host fleet's points takes seconds while it is written


def count(influx: InfluxDB, db: str, measurement: str, field: str) -> int:
    try:
        rows = influx.query(f'SELECT count("{field}") FROM "{measurement}"', db, QUERY_TIMEOUT_S)
    except Exception:
        return 0
    return int(rows[0]["count"]) if rows else 0


# -- consumers -----------------------------------------------------------------------------

def collector_toml(path: Path, mosquitto: Mosquitto, influx: InfluxDB, db: str, prefix: str, cid: str,
                   group: str) -> Path:
    # Production defaults (batch 5000, flush 1 s, receive maximum 10,000, full model, rollups on)
    # except where the benchmark must point: broker, database, prefix, id.
    path.write_text(f"""
[collector]
id = "{cid}"
share_group = "{group}"
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
topic_prefix = "{prefix}"
[influxdb]
url = "{influx.url}"
database = "{db}"
""", encoding="utf-8")
    return path


def start_collector(mosquitto, influx, db, prefix, cid, group, workdir: Path) -> Child:
    toml = collector_toml(workdir / f"{cid}.toml", mosquitto, influx, db, prefix, cid, group)
    child = Child([PY, "-m", "fleetprint", "collector", "run", "-c", str(toml), "--log-level", "INFO"],
                  workdir / f"{cid}.log")
    wait_until(lambda: "subscribed to reports" in child.text() or not child.alive(), 60, f"{cid} to subscribe")
    if not child.alive():
        raise RuntimeError(f"{cid} exited:\n{child.text()[-2000:]}")
    return child


def start_bare(mosquitto, influx, db, prefix, cid, workdir: Path, collector_points: Path | None = None) -> Child:
    influx.create_database(db)
    extra = ["--collector-points", str(collector_points)] if collector_points else []
    child = Child([PY, str(BENCH / "bare_pipeline.py"), "--port", str(mosquitto.port), "--prefix", prefix,
                   "--group", cid, "--client-id", cid, "--influx-url", influx.url, "--db", db, *extra],
                  workdir / f"{cid}.log")
    wait_until(lambda: "subscribed" in child.text() or not child.alive(), 30, f"{cid} to subscribe")
    if not child.alive():
        raise RuntimeError(f"{cid} exited:\n{child.text()[-2000:]}")
    return child


def throughput_trial(kind: str, consumers: int, trial: str, env: dict[str, Any], workload: dict[str, Any],
                     backlog: bool, profile: Path | None = None) -> dict[str, Any]:
    """One end-to-end run: consumers up, inventories stored, then N reports published by several
    publisher processes; reports/s from the first to the last point stored (polled in InfluxDB)."""
    mosquitto, influx, workdir = env["mosquitto"], env["influx"], env["workdir"]
    prefix, db = f"{trial}/v1", trial.replace("-", "_")
    n = workload["reports"]
    children: list[Child] = []
    if kind == "collector":
        for i in range(consumers):
            children.append(start_collector(mosquitto, influx, db, prefix, f"{trial}-c{i}", trial, workdir))
        measurement, field = "fp_host", "cpu_util_pct"
        inv = publish(mosquitto, [workload["files"]["inventory"]], prefix, workdir, f"{trial}-inv")
        publisher_results(inv, 60)
        wait_until(lambda: count(influx, db, "fp_inventory", "cpu_cores") >= workload["hosts"], 60,
                 "inventories stored", 0.2)
    elif kind == "bare_points":
        children.append(start_bare(mosquitto, influx, db, prefix, trial, workdir, workload["files"]["hosts"]))
        measurement, field = "fp_bare_host", "cpu_util_pct"
    else:
        children.append(start_bare(mosquitto, influx, db, prefix, trial, workdir))
        measurement, field = "fp_bare", "cpu_util_pct"
    procs = [p for c in children for p in family(c.ps)]
    rss_before = sum(p.memory_info().rss for p in procs)
    spy = None
    if backlog:
        for p in procs:
            p.suspend()  # the broker queues everything (max_queued_messages 0); drained after SIGCONT
    daemons = [psutil.Process(mosquitto.pid), psutil.Process(influx.pid)]
    cpu0, daemons_cpu0, machine0 = [cpu_s(p) for p in procs], [cpu_s(p) for p in daemons], psutil.cpu_times()
    t_pub = time.monotonic()
    pubs = publish(mosquitto, workload["files"]["reports"], prefix, workdir, trial)
    if backlog:
        for c in pubs:
            c.popen.wait(300)
        cpu0, daemons_cpu0, machine0 = [cpu_s(p) for p in procs], [cpu_s(p) for p in daemons], psutil.cpu_times()
        t_pub = time.monotonic()
        for p in procs:
            p.resume()
    if profile is not None and shutil.which("py-spy", path=str(Path(PY).parent)):
        spy = subprocess.Popen([str(Path(PY).parent / "py-spy"), "record", "--pid", str(procs[0].pid), "--format",
                                "raw", "--output", str(profile), "--rate", "200", "--threads", "--subprocesses",
                                "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    first_t = first_count = None
    last_count, last_change = 0, time.monotonic()
    pubs_done_t = None
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + 120 + n / 500
    while True:
        now = time.monotonic()
        stored = count(influx, db, measurement, field)
        samples.append((now - t_pub, stored))
        if stored and first_t is None:
            first_t, first_count = now, stored
        if stored != last_count:
            last_count, last_change = stored, now
        if pubs_done_t is None and all(not c.alive() for c in pubs):
            pubs_done_t = now
        if stored >= n:
            break
        if pubs_done_t is not None and now - last_change > 20:
            break  # nothing more arrives: loss (reported below)
        if now > deadline:
            break
        time.sleep(0.1)
    last_t = last_change
    cpu1 = [cpu_s(p) for p in procs]
    daemons_cpu1, machine1 = [cpu_s(p) for p in daemons], psutil.cpu_times()
    rss_after = sum(p.memory_info().rss for p in procs)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
    pub_results = publisher_results(pubs, 60)
    for c in children:
        c.stop()
    acked = sum(r.get("acked", 0) - r.get("refused", 0) for r in pub_results)
    pub_seconds = max((r.get("seconds", 0.0) for r in pub_results), default=0.0)
    points = stored
    if kind == "collector":
        points += count(influx, db, "fp_service", "cpu_share")
    elif kind == "bare_points":
        points += count(influx, db, "fp_bare_service", "cpu_share")
    span = (last_t - first_t) if first_t else None
    # First to last stored point (the primary figure); from the start of publishing (or of the
    # drain) to the last stored point as a cross-check that includes the first batch.
    rate = (stored - first_count) / span if span and span > 0 and stored > first_count else None
    rate_from_start = stored / (last_t - t_pub) if last_t > t_pub else None
    cpu_total = sum(cpu1) - sum(cpu0)
    try:
        influx.query(f'DROP DATABASE "{db}"')
    except Exception:
        pass
    return {
        "kind": kind, "consumers": consumers, "backlog": backlog, "published": acked, "stored": stored,
        "loss": acked - stored, "reports_per_s": rate, "reports_per_s_from_publish_start": rate_from_start, "points_per_report": points / stored if stored else None,
        "points_per_s": rate * points / stored if rate and stored else None,
        "cpu_us_per_report": cpu_total / stored * 1e6 if stored else None,
        "cpu_cores_used": cpu_total / span if span else None,
        # The whole machine over the same span (from the start of publishing, or of the drain):
        # what the broker and the database spend per report, and how busy the cores were.
        "broker_cpu_us_per_report": (daemons_cpu1[0] - daemons_cpu0[0]) / stored * 1e6 if stored else None,
        "database_cpu_us_per_report": (daemons_cpu1[1] - daemons_cpu0[1]) / stored * 1e6 if stored else None,
        "machine_busy_cores": _busy_cores(machine0, machine1),
        "machine_cpu_us_per_report": _busy_seconds(machine0, machine1) / stored * 1e6 if stored else None,
        "publish_seconds": pub_seconds, "publisher_reports_per_s": n / pub_seconds if pub_seconds else None,
        "store_seconds_after_publish_start": (last_t - t_pub),
        "rss_mb_consumers": rss_after / 2**20, "rss_growth_mb": (rss_after - rss_before) / 2**20,
        "publisher_errors": [r["error"] for r in pub_results if "error" in r],
    }


def _busy_seconds(before, after) -> float:
    """CPU seconds the whole machine was busy between two `psutil.cpu_times()` (all but idle and iowait)."""
    idle = (after.idle - before.idle) + (after.iowait - before.iowait)
    return sum(after) - sum(before) - idle


def _busy_cores(before, after) -> float | None:
    """Cores busy on average between two `psutil.cpu_times()`."""
    total = sum(after) - sum(before)
    return _busy_seconds(before, after) / total * psutil.cpu_count() if total > 0 else None


_AREAS = (  # by the innermost frame of ours or of a library, checked from the leaf up
    ("collector/impact/", "impact model (collector/impact)"),
    ("fleetprint/impacts.py", "impact model (collector/impact)"),
    ("collector/store/", "line protocol and write (collector/store)"),
    ("fleetprint/schema.py", "decode and validate (schema, msgspec)"),
    ("collector/ingest.py", "ingest (collector/ingest.py)"),
    ("collector/hosts.py", "host registry"),
    ("collector/runner.py", "MQTT loop glue (collector/runner.py)"),
    ("collector/rollups.py", "rollups mark"),
    ("paho/", "paho-mqtt (receive loop, packets, acks)"),
    ("http/", "http.client"),
    ("urllib", "urllib"),
    ("json/", "json"),
    ("logging/", "logging"),
)


def _area(names: list[str]) -> str:
    for name in reversed(names):
        for needle, area in _AREAS:
            if needle in name:
                return area
    return "other: " + (names[-1] if names else "?")


def summarise_profile(path: Path, top: int = 18) -> dict[str, Any]:
    """py-spy raw (collapsed) stacks, active samples only: share per thread, and the functions
    with the largest inclusive and self shares (line numbers dropped)."""
    threads: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    areas: dict[str, int] = {}
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        samples = int(n)
        frames = stack.split(";")
        process = ""
        while frames[0].startswith("process "):  # py-spy --subprocesses: the collector, then its session's child
            process = "session process: " if "mqtt_child" in frames[0] else "collector process: "
            frames = frames[1:]
        thread = re.sub(r"\(\d+\)", "", frames[0]).strip()
        thread = process + re.sub(r"-b\d+-.*", "", thread)
        names = [re.sub(r":\d+\)", ")", f) for f in frames[1:]]
        total += samples
        threads[thread] = threads.get(thread, 0) + samples
        for name in set(names):
            inclusive[name] = inclusive.get(name, 0) + samples
        if names:
            own[names[-1]] = own.get(names[-1], 0) + samples
            area = _area(names)
            areas[area] = areas.get(area, 0) + samples
    pct = lambda d: [(k, round(100 * v / total, 1)) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]
    return {"active_samples": total, "areas_pct": pct(areas), "threads_pct": pct(threads), "inclusive_pct": pct(inclusive),
            "self_pct": pct(own)}


def part_throughput(args, env, results: dict[str, Any], cases: list[tuple[str, str, int]]) -> None:
    workload = env["workload"]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in cases}
    for rep in range(args.runs):
        for name, kind, consumers in cases:
            trial = f"b{env['seq']}-{name}"
            env["seq"] += 1
            profile = None
            if args.profile and rep == 0 and name == "collector":
                profile = BENCH / "results" / "collector-profile.txt"
            log(f"run {rep + 1}/{args.runs}: {name} ({workload['reports']} reports, {workload['hosts']} hosts)")
            result = throughput_trial(kind, consumers, trial, env, workload, args.backlog, profile)
            log(f"  {name}: {fmt(result['reports_per_s'])} reports/s, {fmt(result['cpu_us_per_report'])} µs CPU/report, "
                f"loss {result['loss']}, publishers {fmt(result['publisher_reports_per_s'])} reports/s")
            runs[name].append(result)
            if profile is not None and profile.exists():
                results["collector_profile"] = summarise_profile(profile)
    for name, items in runs.items():
        summary = {key: median([r[key] for r in items]) for key in
                   ("reports_per_s", "reports_per_s_from_publish_start", "points_per_s", "points_per_report", "cpu_us_per_report", "cpu_cores_used",
                    "publisher_reports_per_s", "rss_mb_consumers", "broker_cpu_us_per_report",
                    "database_cpu_us_per_report", "machine_busy_cores", "machine_cpu_us_per_report")}
        summary["loss_total"] = sum(r["loss"] for r in items)
        summary["published_total"] = sum(r["published"] for r in items)
        summary["runs"] = items
        results[name] = summary


# -- agent ---------------------------------------------------------------------------------

def part_agent(args, env, results: dict[str, Any]) -> None:
    from fleetprint.agent.sampler import UsageSampler, sampler_for
    from fleetprint.agent.services import ServiceRule, ServiceSettings

    n = 50 if args.quick else 200
    out: dict[str, Any] = {"samples_per_run": n, "processes_on_machine": len(psutil.pids())}
    for label, make in (("without_scan", lambda: UsageSampler()),
                        ("with_scan", lambda: sampler_for(ServiceSettings(rule=[
                            ServiceRule(service="bench", exe="python*"), ServiceRule(service="db", exe="influxd*")])))):
        per = []
        for _ in range(args.runs):
            sampler = make()
            for _ in range(3):
                sampler.take()  # warm: the scan caches per-process state
            start = time.process_time()
            for _ in range(n):
                sampler.take()
            per.append((time.process_time() - start) / n * 1e3)
        out[f"sample_cpu_ms_{label}"] = median(per)
        out[f"sample_cpu_ms_{label}_runs"] = per
    log(f"agent sampler: {fmt(out['sample_cpu_ms_without_scan'])} ms, with scan {fmt(out['sample_cpu_ms_with_scan'])} ms")

    # The real agent process: RSS after a few published samples, and its CPU per sample all in.
    mosquitto, workdir = env["mosquitto"], env["workdir"]
    from agent_hour import agent_toml  # bench/agent_hour.py

    host_id = "bench-agent"
    toml = agent_toml(workdir, host_id, mosquitto, 1.0, other_exe="influxd*")
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    received = []
    sub = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-agent-sub", protocol=paho.MQTTv5)
    sub.on_connect = lambda c, *_: c.subscribe(f"fleetprint/v1/hosts/{host_id}/report", qos=1)
    sub.on_message = lambda c, u, m: received.append(time.monotonic())
    sub.connect(mosquitto.host, mosquitto.port)
    sub.loop_start()
    agent = Child([PY, "-m", "fleetprint", "agent", "run", "-c", str(toml), "--log-level", "WARNING"],
                  workdir / "agent.log")
    try:
        wait_until(lambda: len(received) >= 3 or not agent.alive(), 60, "3 reports from the agent")
        if not agent.alive():
            raise RuntimeError(f"agent exited:\n{agent.text()[-2000:]}")
        mem = agent.ps.memory_full_info()
        out["agent_rss_mb"] = mem.rss / 2**20
        out["agent_uss_mb"] = mem.uss / 2**20
        k = 5 if args.quick else 15
        have, cpu0 = len(received), cpu_s(agent.ps)
        wait_until(lambda: len(received) >= have + k or not agent.alive(), 60 + 2 * k, f"{k} more reports")
        out["agent_process_cpu_ms_per_sample"] = (cpu_s(agent.ps) - cpu0) / k * 1e3
        out["agent_rss_mb_end"] = agent.ps.memory_info().rss / 2**20
    finally:
        agent.stop()
        sub.disconnect()
        sub.loop_stop()
    log(f"agent process: RSS {fmt(out['agent_rss_mb'])} MB, {fmt(out['agent_process_cpu_ms_per_sample'])} ms CPU/sample")

    # node_exporter, Debian's build, on a free loopback port.
    binary = which("prometheus-node-exporter") or which("node_exporter")
    if binary is None:
        out["node_exporter"] = "not installed (apt-get install -y prometheus-node-exporter)"
    else:
        port = free_port()
        ne = Child([binary, f"--web.listen-address=127.0.0.1:{port}"], workdir / "node_exporter.log")
        try:
            url = f"http://127.0.0.1:{port}/metrics"
            wait_until(lambda: _scrape(url, quiet=True), 20, "node_exporter")
            scrapes = 30 if args.quick else 100
            per, series = [], 0
            for _ in range(args.runs):
                for _ in range(3):
                    _scrape(url)
                start = cpu_s(ne.ps)
                for _ in range(scrapes):
                    body = _scrape(url)
                per.append((cpu_s(ne.ps) - start) / scrapes * 1e3)
                series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
            version = subprocess.run([binary, "--version"], capture_output=True, text=True)
            out["node_exporter_version"] = (version.stdout or version.stderr).split("\n")[0]
            out["node_exporter_cpu_ms_per_scrape"] = median(per)
            out["node_exporter_cpu_ms_runs"] = per
            out["node_exporter_series"] = series
            out["node_exporter_rss_mb"] = ne.ps.memory_info().rss / 2**20
        finally:
            ne.stop()
        ne_ms = out["node_exporter_cpu_ms_per_scrape"]
        out["ratio_sample_with_scan_vs_scrape"] = out["sample_cpu_ms_with_scan"] / ne_ms
        out["ratio_sample_without_scan_vs_scrape"] = out["sample_cpu_ms_without_scan"] / ne_ms
        out["ratio_rss_vs_node_exporter"] = out["agent_rss_mb"] / out["node_exporter_rss_mb"]
        log(f"node_exporter: {fmt(ne_ms)} ms CPU/scrape, RSS {fmt(out['node_exporter_rss_mb'])} MB")
    results["agent"] = out


def _scrape(url: str, quiet: bool = False) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8", "replace")
    except OSError:
        if quiet:
            return ""
        raise


# -- fleet hold ----------------------------------------------------------------------------

def _rss_by_process(procs: list[psutil.Process]) -> dict[str, float]:
    """Resident MB of each of the collector's processes, by pid and program."""
    return {f"{p.pid} {' '.join(p.cmdline()[1:4])}": p.memory_info().rss / 2**20 for p in procs}


def part_fleet(args, env, results: dict[str, Any]) -> None:
    """`fleetprint simulate` live at a 30 s interval for a few minutes into one collector."""
    mosquitto, influx, workdir = env["mosquitto"], env["influx"], env["workdir"]
    hosts, minutes = args.fleet_hosts, args.fleet_minutes
    trial = f"b{env['seq']}-fleet"
    env["seq"] += 1
    prefix, db = f"{trial}/v1", trial.replace("-", "_")
    collector = start_collector(mosquitto, influx, db, prefix, f"{trial}-c0", trial, workdir)
    out: dict[str, Any] = {"hosts": hosts, "minutes": minutes, "interval_s": INTERVAL_S}
    sim = None
    try:
        time.sleep(1.0)
        procs = family(collector.ps)
        rss0 = sum(p.memory_info().rss for p in procs)
        out["rss_mb_by_process_start"] = _rss_by_process(procs)
        cpu0 = sum(cpu_s(p) for p in procs)
        log(f"fleet: {hosts} hosts for {minutes} min at {INTERVAL_S} s (collector RSS {rss0 / 2**20:.1f} MB at start)")
        sim = Child([PY, "-m", "fleetprint", "simulate", "--mqtt-host", mosquitto.host,
                     "--mqtt-port", str(mosquitto.port), "--mqtt-topic-prefix", prefix, "--hosts", str(hosts),
                     "--interval", str(INTERVAL_S), "--duration", f"{int(minutes * 60)}s", "--rate", "0",
                     "--processes", "2", "--max-in-flight", "1000"],
                    workdir / f"{trial}-simulate.log")
        inv_deadline = time.monotonic() + 120 + hosts * 0.05
        while (n_inv := count(influx, db, "fp_inventory", "cpu_cores")) < hosts and time.monotonic() < inv_deadline:
            time.sleep(0.5)
        out["inventories_stored"] = n_inv
        rss_inv = sum(p.memory_info().rss for p in procs)
        cpu_inv = sum(cpu_s(p) for p in procs)
        out["inventory_cpu_ms_per_host"] = (cpu_inv - cpu0) / max(1, n_inv) * 1e3
        out["inventories_stored_after_s"] = time.time() - (sim.ps.create_time())
        out["rss_mb_start"] = rss0 / 2**20
        out["rss_mb_by_process_after_inventories"] = _rss_by_process(procs)
        out["rss_mb_after_inventories"] = rss_inv / 2**20
        out["bytes_per_host_inventories"] = (rss_inv - rss0) / max(1, n_inv)
        # Lag: for each interval, when its last report was stored, minus the interval's end.
        lags: list[float] = []
        inv_done = time.time()
        sent: int | None = None
        last_total = 0
        seen: dict[int, int] = {}
        last_poll = time.time()
        end = time.time() + minutes * 60 + 120 + hosts * 0.03
        poll_s = 1.0 if hosts <= 20_000 else 5.0  # each poll counts every point of the last 2 h
        while time.time() < end:
            try:
                rows = influx.query(f'SELECT count("cpu_util_pct") FROM fp_host WHERE time > now() - 2h '
                                    f'GROUP BY time({INTERVAL_S}s) fill(none)', db, QUERY_TIMEOUT_S)
            except (InfluxQueryError, OSError) as exc:  # the database busy: the next poll tells
                log(f"fleet: poll failed ({exc}), retrying")
                time.sleep(poll_s)
                continue
            now = time.time()
            for row in rows:
                ts = int(row["time"] // 1000)
                if row["count"] >= hosts and ts not in seen:
                    seen[ts] = row["count"]
                    lags.append(now - ts)
                    out.setdefault("lags", []).append({"interval_end": ts, "lag_s": round(now - ts, 2),
                                                       "after_inventories": ts > inv_done})
            total = sum(int(r["count"]) for r in rows)
            if total != last_total:
                last_total, last_poll = total, now
            if not sim.alive():
                if sent is None:
                    match = re.search(r"(\d+) reports with (\d+) samples", sim.text())
                    sent = int(match.group(1)) if match else -1
                if total >= sent or now - last_poll > 30 + poll_s:
                    break
            time.sleep(poll_s)
        sim_code = sim.stop()
        text = sim.text()
        match = re.search(r"(\d+) reports with (\d+) samples", text)
        sent = int(match.group(1)) if match else None
        out["inventories_stored_end"] = count(influx, db, "fp_inventory", "cpu_cores")
        time.sleep(3)
        stored = count(influx, db, "fp_host", "cpu_util_pct")
        cpu1 = sum(cpu_s(p) for p in procs)
        rss_end = sum(p.memory_info().rss for p in procs)
        out.update({
            "simulator_exit": sim_code, "reports_sent": sent, "stored": stored,
            "loss": (sent - stored) if sent is not None else None,
            "intervals_complete": len(lags), "lag_s_median": median(lags), "lag_s_max": max(lags) if lags else None,
            "rss_mb_end": rss_end / 2**20, "bytes_per_host_end": (rss_end - rss0) / hosts,
            "collector_cpu_cores_mean_reports": (cpu1 - cpu_inv) / max(1.0, time.time() - inv_done),
            "collector_cpu_us_per_report_all_in": (cpu1 - cpu_inv) / stored * 1e6 if stored else None,
            "target_reports_per_s": hosts / INTERVAL_S,
        })
        if sent is None:
            out["simulator_output"] = text[-1500:]
    finally:
        if sim is not None:
            sim.stop()
        collector.stop()
        try:
            influx.query(f'DROP DATABASE "{db}"')
        except Exception:
            pass
    log(f"fleet: stored {out.get('stored')} of {out.get('reports_sent')}, lag max {fmt(out.get('lag_s_max'))} s, "
        f"{fmt(out.get('bytes_per_host_end'))} B/host")
    results["fleet"] = out


# -- table ---------------------------------------------------------------------------------

def div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, value, ratio, target) rows."""
    rows: list[tuple[str, str, str, str]] = []
    bare, col, two = results.get("bare"), results.get("collector"), results.get("collector_x2")
    if col and bare:
        ratio = div(col["reports_per_s"], bare["reports_per_s"])
        results["ratio_collector_vs_bare"] = ratio
        rows += [
            ("bare paho pipeline: reports/s", fmt(bare["reports_per_s"]), "1.00x", ""),
            ("  cross-check, from publish start: bare / collector",
             f"{fmt(bare['reports_per_s_from_publish_start'])} / {fmt(col['reports_per_s_from_publish_start'])}",
             f"{fmt(div(col['reports_per_s_from_publish_start'], bare['reports_per_s_from_publish_start']))}x", ""),
            ("collector (1 process): reports/s", fmt(col["reports_per_s"]), f"{fmt(ratio)}x bare",
             f">= 0.9x: {'met' if ratio and ratio >= 0.9 else 'NOT met'}"),
            ("bare: CPU µs/report (consumer)", fmt(bare["cpu_us_per_report"]), "1.00x", ""),
            ("collector: CPU µs/report", fmt(col["cpu_us_per_report"]),
             f"{fmt(div(col['cpu_us_per_report'], bare['cpu_us_per_report']))}x bare", ""),
            ("bare: points/s (points/report)", f"{fmt(bare['points_per_s'])} ({fmt(bare['points_per_report'])})", "", ""),
            ("collector: points/s (points/report)", f"{fmt(col['points_per_s'])} ({fmt(col['points_per_report'])})",
             f"{fmt(div(col['points_per_s'], bare['points_per_s']))}x bare", ""),
            ("loss bare / collector (published - stored)",
             f"{bare['loss_total']} / {col['loss_total']} of {bare['published_total']:,} / {col['published_total']:,}",
             "", "0"),
            ("publishers: reports/s offered (median)",
             f"{fmt(bare['publisher_reports_per_s'])} / {fmt(col['publisher_reports_per_s'])}", "", ""),
            ("Mosquitto CPU µs/report: bare / collector",
             f"{fmt(bare['broker_cpu_us_per_report'])} / {fmt(col['broker_cpu_us_per_report'])}", "", ""),
            ("InfluxDB CPU µs/report: bare / collector",
             f"{fmt(bare['database_cpu_us_per_report'])} / {fmt(col['database_cpu_us_per_report'])}", "", ""),
            ("machine CPU µs/report (all processes): bare / collector",
             f"{fmt(bare['machine_cpu_us_per_report'])} / {fmt(col['machine_cpu_us_per_report'])}",
             f"{fmt(div(bare['machine_cpu_us_per_report'], col['machine_cpu_us_per_report']))}x", ""),
            (f"machine busy cores (of {psutil.cpu_count()}): bare / collector",
             f"{fmt(bare['machine_busy_cores'])} / {fmt(col['machine_busy_cores'])}", "", ""),
        ]
    same = results.get("bare_points")
    if col and same:
        ratio = div(col["reports_per_s"], same["reports_per_s"])
        results["ratio_collector_vs_bare_points"] = ratio
        rows += [
            ("bare pipeline writing the collector's points: reports/s", fmt(same["reports_per_s"]),
             f"{fmt(div(same['reports_per_s'], bare['reports_per_s'])) if bare else '?'}x bare", ""),
            ("  its CPU µs/report; points/report; InfluxDB CPU µs/report",
             f"{fmt(same['cpu_us_per_report'])}; {fmt(same['points_per_report'])}; "
             f"{fmt(same['database_cpu_us_per_report'])}", "", ""),
            ("  collector vs it: reports/s", fmt(col["reports_per_s"]), f"{fmt(ratio)}x", ""),
            ("  machine busy cores / CPU µs per report", f"{fmt(same['machine_busy_cores'])} / "
             f"{fmt(same['machine_cpu_us_per_report'])}", "", ""),
        ]
    if two:
        base = col["reports_per_s"] if col else None
        ratio = div(two["reports_per_s"], base)
        results["ratio_two_vs_one_collector"] = ratio
        if not bare and col:
            rows += [("1 collector: reports/s", fmt(base), "1.00x", "")]
        rows += [
            ("2 collectors, one share group: reports/s", fmt(two["reports_per_s"]), f"{fmt(ratio)}x one",
             "near 2x with spare cores"),
            ("2 collectors: CPU µs/report (sum)", fmt(two["cpu_us_per_report"]), "", ""),
            ("2 collectors: loss", f"{two['loss_total']} of {two['published_total']:,}", "", "0"),
        ]
    agent = results.get("agent")
    if agent:
        ne = agent.get("node_exporter_cpu_ms_per_scrape")
        rows += [
            ("agent sample CPU ms, no process scan", fmt(agent["sample_cpu_ms_without_scan"]),
             f"{fmt(agent.get('ratio_sample_without_scan_vs_scrape'))}x scrape" if ne else "", ""),
            ("agent sample CPU ms, with process scan", fmt(agent["sample_cpu_ms_with_scan"]),
             f"{fmt(agent.get('ratio_sample_with_scan_vs_scrape'))}x scrape" if ne else "",
             f"<= 0.5x: {'met' if ne and agent['ratio_sample_with_scan_vs_scrape'] <= 0.5 else 'NOT met'}"),
            ("agent process CPU ms/sample (all in)", fmt(agent.get("agent_process_cpu_ms_per_sample")), "", ""),
            ("agent process RSS MB", fmt(agent.get("agent_rss_mb")),
             f"{fmt(agent.get('ratio_rss_vs_node_exporter'))}x node_exporter" if ne else "",
             f"<= 30 MB: {'met' if agent.get('agent_rss_mb', 99) <= 30 else 'NOT met'}"),
        ]
        if ne:
            rows += [("node_exporter CPU ms/scrape", fmt(ne), "1.00x", f"{agent['node_exporter_series']} series"),
                     ("node_exporter RSS MB", fmt(agent["node_exporter_rss_mb"]), "", "")]
        else:
            rows += [("node_exporter", agent.get("node_exporter", "-"), "", "")]
    fleet = results.get("fleet")
    if fleet:
        rows += [
            (f"fleet {fleet['hosts']:,} hosts / {INTERVAL_S} s, {fleet['minutes']} min: stored / sent",
             f"{fmt(fleet.get('stored'))} / {fmt(fleet.get('reports_sent'))}", f"loss {fmt(fleet.get('loss'))}", "0"),
            ("fleet: lag after interval end, median / max s",
             f"{fmt(fleet.get('lag_s_median'))} / {fmt(fleet.get('lag_s_max'))}",
             f"{fleet.get('intervals_complete')} intervals complete", "< 30 s"),
            ("fleet: collector memory per known host, B",
             f"{fmt(fleet.get('bytes_per_host_inventories'))} (inventories) / {fmt(fleet.get('bytes_per_host_end'))} (end)",
             "", f"< 2048: {'met' if (fleet.get('bytes_per_host_end') or 1e9) < 2048 else 'NOT met'}"),
            ("fleet: collector CPU per inventory, ms", fmt(fleet.get("inventory_cpu_ms_per_host")),
             f"{fleet['hosts']:,} stored in {fmt(fleet.get('inventories_stored_after_s'))} s", ""),
            ("fleet: collector CPU cores after inventories (mean)", fmt(fleet.get("collector_cpu_cores_mean_reports")),
             f"{fmt(fleet.get('target_reports_per_s'))} reports/s offered", ""),
        ]
    return rows


def print_table(rows: list[tuple[str, str, str, str]]) -> str:
    headers = ("measure", "value (median)", "ratio", "target")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)] if rows else [10] * 4
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 run, smaller loads (about 3 minutes)")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts among {', '.join(PARTS)}")
    parser.add_argument("--runs", type=int, help="repetitions of each case (default 3, --quick 1)")
    parser.add_argument("--reports", type=int, help="reports per throughput run (default 40000, --quick 20000)")
    parser.add_argument("--hosts", type=int, default=500, help="simulated hosts in the throughput runs")
    parser.add_argument("--publishers", type=int, default=3, help="publisher processes")
    parser.add_argument("--backlog", action="store_true",
                        help="publish while the consumers are suspended (SIGSTOP), then measure the drain: "
                             "removes the publishers' CPU from the measurement")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the collector in its first run (bench/results/collector-profile.txt)")
    parser.add_argument("--fleet-hosts", type=int, help="fleet hold hosts (default 5000, --quick 3000; DESIGN: 100000)")
    parser.add_argument("--fleet-minutes", type=float, help="fleet hold minutes (default 4, --quick 1.5; DESIGN: 10)")
    parser.add_argument("--influx-index", choices=("inmem", "tsi1"), default="inmem",
                        help="InfluxDB's series index (tsi1, as docs/operations.md advises for large fleets)")
    parser.add_argument("--output", default=str(BENCH / "results" / "latest.json"))
    args = parser.parse_args()
    args.runs = args.runs or (1 if args.quick else 3)
    args.reports = args.reports or (20_000 if args.quick else 40_000)
    args.fleet_hosts = args.fleet_hosts or (3_000 if args.quick else 5_000)
    args.fleet_minutes = args.fleet_minutes or (1.5 if args.quick else 4.0)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    (BENCH / "results").mkdir(exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="fleetprint-bench-"))
    mosquitto, influx = Mosquitto(), InfluxDB(index=args.influx_index)
    results: dict[str, Any] = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "mem_gb": round(psutil.virtual_memory().total / 2**30, 1)},
        "options": {"quick": args.quick, "runs": args.runs, "reports": args.reports, "hosts": args.hosts,
                    "publishers": args.publishers, "backlog": args.backlog, "parts": parts,
                    "fleet_hosts": args.fleet_hosts, "fleet_minutes": args.fleet_minutes,
                    "influx_index": args.influx_index},
        "targets": TARGETS,
    }
    env: dict[str, Any] = {"mosquitto": mosquitto, "influx": influx, "workdir": workdir, "seq": 0}
    started = time.monotonic()
    try:
        mosquitto.start(workdir / "mosquitto")
        influx.start(workdir / "influxdb")
        results["broker_config"] = (workdir / "mosquitto" / "mosquitto.conf").read_text().splitlines()
        if "collector" in parts or "scaleout" in parts:
            env["workload"] = build_workload(args.hosts, args.reports, args.publishers, workdir)
            results["workload"] = {k: v for k, v in env["workload"].items() if k != "files"}
            cases = []
            if "collector" in parts:
                cases += [("bare", "bare", 1), ("bare_points", "bare_points", 1), ("collector", "collector", 1)]
            if "scaleout" in parts:
                if "collector" not in parts:
                    cases += [("collector", "collector", 1)]
                cases += [("collector_x2", "collector", 2)]
            part_throughput(args, env, results, cases)
        if "agent" in parts:
            part_agent(args, env, results)
        if "fleet" in parts:
            part_fleet(args, env, results)
    except KeyboardInterrupt:
        log("interrupted: writing what was measured")
        results["interrupted"] = True
    finally:
        influx.stop()
        mosquitto.stop()
        results["broker_dropped_log_lines"] = sum("dropped" in line.lower() for line in mosquitto.log_text().splitlines())
        results["seconds"] = round(time.monotonic() - started, 1)
        rows = table(results)
        results["table"] = [dict(zip(("measure", "value", "ratio", "target"), r)) for r in rows]
        Path(args.output).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        text = print_table(rows)
        print(text)
        print(f"\nwritten to {args.output} ({results['seconds']} s; logs in {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
