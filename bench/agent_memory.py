"""Where the agent's resident memory goes: the interpreter, each group of imports, the running parts.

    .venv/bin/python bench/agent_memory.py

Imports what `fleetprint agent run` imports, in its order, then builds the agent (no broker
needed: nothing connects) and takes a sample, in a fresh interpreter twice: once reading RSS
(anonymous and file-backed, /proc/self/status) after each step, once with tracemalloc (Python's
own allocations, which the first run leaves out because tracing costs memory itself).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

STEPS = [
    ("interpreter", ""),
    ("fleetprint, click (the command group)", "import fleetprint.cli"),
    ("fleetprint.agent.cli (config, msgspec, tomllib)", "import fleetprint.agent.cli"),
    ("psutil", "import psutil"),
    ("paho-mqtt", "import paho.mqtt.client"),
    ("sqlite3", "import sqlite3"),
    ("the rest of fleetprint.agent.runner", "import fleetprint.agent.runner"),
    ("the agent built, one sample taken", """
from fleetprint.agent.config import AgentConfig
from fleetprint.agent.services import ServiceRule, ServiceSettings
config = AgentConfig(state_dir=STATE_DIR, services=ServiceSettings(rule=[ServiceRule(service="s", exe="python*")]))
agent = fleetprint.agent.runner.Agent(config, "memory-host")
agent.refresh_inventory()
agent.sample()
"""),
]

CHILD = """
import json, sys, tracemalloc
STATE_DIR = {state_dir!r}
traced = {traced!r}
if traced:
    tracemalloc.start()
def rss_kb():
    lines = open("/proc/self/status").read().splitlines()
    fields = dict(line.split(":", 1) for line in lines if line.startswith(("VmRSS", "RssAnon", "RssFile")))
    return {{k: int(v.split()[0]) for k, v in fields.items()}}
out = []
for name, code in {steps!r}:
    exec(code)
    out.append((name, tracemalloc.get_traced_memory()[0] if traced else rss_kb(), len(sys.modules)))
print(json.dumps(out))
"""


def run(traced: bool, state_dir: str) -> list:
    code = CHILD.format(state_dir=state_dir, traced=traced, steps=STEPS)
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def main() -> int:
    with tempfile.TemporaryDirectory() as state_dir:
        rss, traced = run(False, state_dir), run(True, state_dir + "/traced")
    print(f"{'step':<52} {'RSS MB':>7} {'+MB':>6} {'anon':>6} {'file':>6} {'traced MB':>9} {'+MB':>6} {'modules':>7}")
    last_rss = last_traced = 0.0
    for (name, kb, modules), (_, traced_b, _) in zip(rss, traced):
        total, traced_mb = kb["VmRSS"] / 1024, traced_b / 2**20
        print(f"{name:<52} {total:7.1f} {total - last_rss:+6.1f} {kb['RssAnon'] / 1024:6.1f}"
              f" {kb['RssFile'] / 1024:6.1f} {traced_mb:9.2f} {traced_mb - last_traced:+6.2f} {modules:7d}")
        last_rss, last_traced = total, traced_mb
    return 0


if __name__ == "__main__":
    sys.exit(main())
