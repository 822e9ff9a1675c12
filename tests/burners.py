"""Real processes that burn CPU in known proportions, for the attribution tests."""

from __future__ import annotations

import subprocess
import sys

import psutil

# Burns `duty` CPU seconds per second of wall time, until killed: while behind (preempted on a
# busy machine) it spins in 1 ms steps, else sleeps 5 ms. The marker makes rules match it.
_BURN = """
import sys, time
duty = float(sys.argv[2])
wall0, cpu0 = time.perf_counter(), time.process_time()
while True:
    if time.process_time() - cpu0 < duty * (time.perf_counter() - wall0):
        step = time.perf_counter()
        while time.perf_counter() - step < 0.001:
            pass
    else:
        time.sleep(0.005)
"""

# Spawns short children (each burns `child_s` and exits) one after another, waiting for each.
_SPAWN = """
import subprocess, sys, time
child = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < %s: pass" % sys.argv[2]
while True:
    subprocess.run([sys.executable, "-c", child, "short-lived-child"])
    time.sleep(0.05)
"""


def start_burner(marker: str, duty: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _BURN, marker, str(duty)])


def start_spawner(marker: str, child_s: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _SPAWN, marker, str(child_s)])


def cpu_seconds(process: subprocess.Popen, with_children: bool = False) -> float:
    times = psutil.Process(process.pid).cpu_times()
    own = times.user + times.system
    return own + (times.children_user + times.children_system if with_children else 0.0)


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.kill()
        process.wait()
