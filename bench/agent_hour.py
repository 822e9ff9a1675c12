"""What the agent costs a machine over time, at its production interval, next to node_exporter.

    .venv/bin/python bench/agent_hour.py                           # 30 s and 300 s, 10 minutes
    .venv/bin/python bench/agent_hour.py --intervals 30 --minutes 20

Starts Mosquitto (tests/services.py) with a subscriber that takes the reports (so the broker
answers PUBACK "accepted", as with a collector), one real `fleetprint agent run` per interval
(with two process rules: the process scan runs every sample) and node_exporter, which this
script scrapes every 30 s. After a warm-up (each agent has published its inventory) it
measures for `--minutes`, from /proc, every thread of each process:
- CPU: the first field of /proc/<pid>/task/<tid>/schedstat (ns on a CPU), as CPU per hour;
- wake-ups: voluntary + involuntary context switches (/proc/<pid>/task/<tid>/status), per minute
  and per sampling interval;
- RSS at the start and the end of the window, and USS (psutil, from smaps) at the end.
The threads are read every 30 s, so a thread that ends in the window loses at most its last
30 s. Prints a table, writes bench/results/agent_hour.json. Linux only (/proc).

`--wine 30` adds the agent on the official Windows CPython under Wine (tests/wine.py builds the
runtime), measured as above, and apart from it the Wine processes of its prefix (wineserver,
services.exe, ...), which do the work the Windows kernel does: Wine's cost, not Windows'.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from run import BENCH, PY, Child, _scrape, fmt, log, print_table  # bench/run.py

from processes import wait_until  # tests/processes.py (bench/run.py puts tests/ on the path)
from services import Mosquitto, free_port, which  # tests/services.py

SCRAPE_EVERY_S = 30.0
TARGETS = {"cpu_vs_node_exporter_30s": 0.5, "rss_mb": 25.0}


def read_tasks(pid: int) -> dict[int, tuple[int, int, int]]:
    """tid -> (CPU ns, voluntary, involuntary context switches) for every thread of `pid` now."""
    tasks = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            cpu_ns = int((task / "schedstat").read_text().split()[0])
            status = dict(line.split(":", 1) for line in (task / "status").read_text().splitlines() if ":" in line)
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended between listing and reading
        tasks[int(task.name)] = (cpu_ns, int(status["voluntary_ctxt_switches"]),
                                 int(status["nonvoluntary_ctxt_switches"]))
    return tasks


@dataclass
class ThreadCounters:
    """Per-thread counters over a window: the first and last values seen of every thread."""

    pid: int
    first: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    last: dict[int, tuple[int, int, int]] = field(default_factory=dict)

    def start(self) -> None:
        self.first = read_tasks(self.pid)
        self.last = dict(self.first)

    def read(self) -> None:
        """Read again; threads born since the start count from zero."""
        for tid, values in read_tasks(self.pid).items():
            self.first.setdefault(tid, (0, 0, 0))
            self.last[tid] = values

    def totals(self) -> tuple[int, int, int]:
        """(CPU ns, voluntary, involuntary) over the window, all threads."""
        return tuple(sum(self.last[t][i] - self.first[t][i] for t in self.last) for i in range(3))

    def per_thread(self) -> list[dict[str, int]]:
        return [{"tid": t, "cpu_ns": self.last[t][0] - self.first[t][0],
                 "voluntary": self.last[t][1] - self.first[t][1],
                 "involuntary": self.last[t][2] - self.first[t][2]} for t in sorted(self.last)]


def agent_toml(workdir: Path, host_id: str, mosquitto: Mosquitto, interval_s: float,
               other_exe: str = "mosquitto*", state_dir: str | None = None, rules: bool = True) -> Path:
    """An agent config as in production, with two process rules (the scan runs every sample)
    unless `rules` is false."""
    path = workdir / f"{host_id}.toml"
    rules_toml = f"""
[[services.rule]]
service = "bench"
exe = "python*"
[[services.rule]]
service = "db"
exe = "{other_exe}"
""" if rules else ""
    path.write_text(f"""
state_dir = "{state_dir or workdir / host_id}"
[host]
id = "{host_id}"
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
[sampling]
interval_s = {interval_s}
{rules_toml}""", encoding="utf-8")
    return path


class Reports:
    """A QoS 1 subscriber to every host's reports and inventories: counts them per host."""

    def __init__(self, mosquitto: Mosquitto) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.enums import CallbackAPIVersion

        self.counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-agent-hour", protocol=paho.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe([("fleetprint/v1/hosts/+/report", 1),
                                                           ("fleetprint/v1/hosts/+/inventory", 1)])
        self.client.on_message = self._count
        self.client.connect(mosquitto.host, mosquitto.port)
        self.client.loop_start()

    def _count(self, client, userdata, message) -> None:
        _, _, _, host, kind = message.topic.split("/")
        with self._lock:
            self.counts[(host, kind)] = self.counts.get((host, kind), 0) + 1

    def count(self, host: str, kind: str) -> int:
        with self._lock:
            return self.counts.get((host, kind), 0)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Program:
    """A measured program: one process, or several summed (Wine's agent and its wineserver)."""

    name: str
    pids: list[int]
    alive: Callable[[], bool]
    log_text: Callable[[], str]
    interval_s: float | None = None  # an agent's sampling interval
    counters: list[ThreadCounters] = field(default_factory=list)
    rss_start: int = 0
    reports_start: int = 0

    def start(self, reports: Reports) -> None:
        self.counters = [ThreadCounters(pid) for pid in self.pids]
        for counters in self.counters:
            counters.start()
        self.rss_start = sum(psutil.Process(pid).memory_info().rss for pid in self.pids)
        self.reports_start = reports.count(self.name, "report")

    def read(self) -> None:
        if not self.alive():
            raise RuntimeError(f"{self.name} exited:\n{self.log_text()[-2000:]}")
        for counters in self.counters:
            counters.read()

    def summary(self, window_s: float, reports: Reports) -> dict[str, Any]:
        cpu_ns, voluntary, involuntary = (sum(t) for t in zip(*(c.totals() for c in self.counters)))
        mems = [psutil.Process(pid).memory_full_info() for pid in self.pids]
        out: dict[str, Any] = {
            "name": self.name, "window_s": round(window_s, 1), "processes": len(self.pids),
            "threads": sum(len(c.last) for c in self.counters),
            "cpu_ms_per_hour": cpu_ns / 1e6 * 3600 / window_s,
            "cpu_ns": cpu_ns, "voluntary_switches": voluntary, "involuntary_switches": involuntary,
            "wakeups_per_min": (voluntary + involuntary) * 60 / window_s,
            "voluntary_per_min": voluntary * 60 / window_s, "involuntary_per_min": involuntary * 60 / window_s,
            "rss_mb_start": self.rss_start / 2**20, "rss_mb": sum(m.rss for m in mems) / 2**20,
            "uss_mb": sum(m.uss for m in mems) / 2**20,
            "per_thread": [{"pid": c.pid, **t} for c in self.counters for t in c.per_thread()],
        }
        if self.interval_s is not None:
            got = reports.count(self.name, "report") - self.reports_start
            out.update(interval_s=self.interval_s, reports_in_window=got,
                       wakeups_per_interval=out["wakeups_per_min"] * self.interval_s / 60)
            if got:
                out["cpu_ms_per_report"] = cpu_ns / 1e6 / got
        return out


def linux_agent(workdir: Path, mosquitto: Mosquitto, interval_s: float, stops: list, rules: bool = True) -> Program:
    host = f"hour-{interval_s:g}s" + ("" if rules else "-no-rules")
    toml = agent_toml(workdir, host, mosquitto, interval_s, rules=rules)
    child = Child([PY, "-m", "fleetprint", "agent", "run", "-c", str(toml), "--log-level", "WARNING"],
                  workdir / f"{host}.log")
    stops.append(child.stop)
    return Program(host, [child.ps.pid], child.alive, child.text, interval_s)


def wine_agent(workdir: Path, mosquitto: Mosquitto, interval_s: float,
               stops: list) -> tuple[list[Program], Callable[[], list[int]]]:
    """The agent on the official Windows CPython under Wine (tests/wine.py), and the Wine
    processes of its prefix (wineserver, services.exe, ...), measured apart: those are read once
    the agent runs (the second value lists them)."""
    from wine import WindowsPython, windows_path  # tests/wine.py

    host = f"wine-{interval_s:g}s"
    python = WindowsPython(workdir / "wine")
    stops.append(python.close)
    toml = agent_toml(workdir, host, mosquitto, interval_s, state_dir=f"Z:{workdir / host}")
    agent = python.start(["-m", "fleetprint", "agent", "run", "-c", windows_path(toml), "--log-level", "WARNING"],
                         workdir / f"{host}.log")
    stops.append(agent.interrupt)

    def alive() -> bool:
        return agent.process.poll() is None

    def prefix_pids() -> list[int]:
        found = []
        for proc in psutil.process_iter(["pid"]):
            try:
                if proc.pid != agent.process.pid and proc.environ().get("WINEPREFIX") == str(python.prefix):
                    found.append(proc.pid)
            except psutil.Error:
                continue
        return found

    return [Program(host, [agent.process.pid], alive, agent.log_text, interval_s),
            Program(f"{host}: Wine's other processes", [], alive, agent.log_text)], prefix_pids


def measure(intervals: list[float], minutes: float, workdir: Path, wine_interval_s: float | None,
            no_rules_intervals: list[float] = ()) -> dict[str, Any]:
    """Run the agents and node_exporter side by side; their figures over the same window."""
    binary = which("prometheus-node-exporter") or which("node_exporter")
    if binary is None:
        raise SystemExit("node_exporter is not installed (apt-get install -y prometheus-node-exporter)")
    mosquitto = Mosquitto(sys_interval=0)
    mosquitto.start(workdir / "mosquitto")
    reports = Reports(mosquitto)
    stops: list[Callable[[], object]] = []
    try:
        programs = [linux_agent(workdir, mosquitto, interval_s, stops) for interval_s in intervals]
        programs += [linux_agent(workdir, mosquitto, interval_s, stops, rules=False)
                     for interval_s in no_rules_intervals]
        prefix_pids = None
        if wine_interval_s is not None:
            wine_programs, prefix_pids = wine_agent(workdir, mosquitto, wine_interval_s, stops)
            programs += wine_programs
        port = free_port()
        url = f"http://127.0.0.1:{port}/metrics"
        exporter = Child([binary, f"--web.listen-address=127.0.0.1:{port}"], workdir / "node_exporter.log")
        stops.append(exporter.stop)
        programs.append(Program("node_exporter", [exporter.ps.pid], exporter.alive, exporter.text))
        wait_until(lambda: bool(_scrape(url, quiet=True)), 20, "node_exporter")
        for program in programs:
            if program.interval_s is not None:
                wait_until(lambda: reports.count(program.name, "inventory") > 0 or not program.alive(), 120,
                           f"{program.name}'s inventory")
                program.read()  # raises if it exited
        time.sleep(5)  # the first connection's traffic settles
        if prefix_pids is not None:
            next(p for p in programs if p.name.endswith("other processes")).pids = prefix_pids()
        for program in programs:
            program.start(reports)
        started = time.monotonic()
        log(f"measuring {', '.join(p.name for p in programs)} for {minutes:g} min")
        series = len([line for line in _scrape(url).splitlines() if line and not line.startswith("#")])
        next_scrape = started + SCRAPE_EVERY_S
        while time.monotonic() < started + minutes * 60:
            time.sleep(max(0.0, min(next_scrape, started + minutes * 60) - time.monotonic()))
            if time.monotonic() >= next_scrape:
                _scrape(url)
                next_scrape += SCRAPE_EVERY_S
            for program in programs:
                program.read()
        window_s = time.monotonic() - started
        results = {program.name: program.summary(window_s, reports) for program in programs}
        version = subprocess.run([binary, "--version"], capture_output=True, text=True)
        results["node_exporter"].update(version=(version.stdout or version.stderr).split("\n")[0], series=series,
                                        scrape_every_s=SCRAPE_EVERY_S)
        return results
    finally:
        for stop in reversed(stops):
            stop()
        reports.close()
        mosquitto.stop()


def table(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    ne = results["node_exporter"]
    rows = []
    for name, r in results.items():
        ratio = r["cpu_ms_per_hour"] / ne["cpu_ms_per_hour"] if ne["cpu_ms_per_hour"] else None
        target = ""
        if r.get("interval_s") == 30 and name.startswith("hour-"):
            met = ratio is not None and ratio <= TARGETS["cpu_vs_node_exporter_30s"]
            target = f"<= 0.5x: {'met' if met else 'NOT met'}"
        label = name if name != "node_exporter" else f"node_exporter, scraped every {SCRAPE_EVERY_S:g} s"
        rows.append((f"{label}: CPU ms/hour", fmt(r["cpu_ms_per_hour"]), f"{fmt(ratio)}x node_exporter", target))
        per_interval = f"{fmt(r['wakeups_per_interval'])} per interval" if "interval_s" in r else ""
        rows.append((f"{label}: wake-ups/min (voluntary + involuntary)",
                     f"{fmt(r['wakeups_per_min'])} ({fmt(r['voluntary_per_min'])} + {fmt(r['involuntary_per_min'])})",
                     per_interval, ""))
        rss_target = "" if not name.startswith("hour-") else \
            f"< 25 MB: {'met' if r['rss_mb'] < TARGETS['rss_mb'] else 'NOT met'}"
        rows.append((f"{label}: RSS / USS MB", f"{fmt(r['rss_mb'])} / {fmt(r['uss_mb'])}",
                     f"RSS {fmt(r['rss_mb_start'])} at start", rss_target))
        if r.get("cpu_ms_per_report") is not None:
            rows.append((f"{label}: CPU ms/report", fmt(r["cpu_ms_per_report"]), f"{r['reports_in_window']} reports",
                         ""))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--intervals", default="30,300", help="sampling intervals in s, one agent each")
    parser.add_argument("--minutes", type=float, default=10.0, help="the measured window")
    parser.add_argument("--no-rules", default="30", metavar="INTERVALS",
                        help="sampling intervals of agents without process rules (no process scan); '' for none")
    parser.add_argument("--wine", type=float, metavar="INTERVAL_S",
                        help="also the agent on Windows CPython under Wine (tests/wine.py), at this interval")
    parser.add_argument("--output", default=str(BENCH / "results" / "agent_hour.json"))
    args = parser.parse_args()
    intervals = [float(i) for i in args.intervals.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="fleetprint-agent-hour-"))
    results = measure(intervals, args.minutes, workdir, args.wine, [float(i) for i in args.no_rules.split(",") if i])
    (BENCH / "results").mkdir(exist_ok=True)
    out = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "minutes": args.minutes,
           "cpus": psutil.cpu_count(), "targets": TARGETS, "processes": results}
    rows = table(results)
    out["table"] = [dict(zip(("measure", "value", "ratio", "target"), r)) for r in rows]
    Path(args.output).write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(print_table(rows))
    print(f"\nwritten to {args.output} (logs in {workdir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
