"""What a large asset register costs: the import, and the collector's hourly job writing it.

A register of N devices (default 50,000 rows, a French export: `;`, day-first dates, seven
categories) is made here, imported twice with `fleetprint assets import` (the second import
changes nothing), and the estate job writes one hour of it into a real InfluxDB started here.
Prints the wall time and peak RSS of each import, and the job's time, CPU and memory for one
hour (and its points). The job runs in this process, as in the collector's.

    python bench/assets.py [--rows 50000]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fleetprint.collector.assets.estate import Estate  # noqa: E402
from fleetprint.collector.assets.job import EstateJob  # noqa: E402
from fleetprint.collector.impact.grid import GridFactors  # noqa: E402
from fleetprint.collector.settings import AttributionSettings, ImpactSettings  # noqa: E402
from fleetprint.collector.store.influx_v1 import InfluxV1Sink  # noqa: E402

from services import InfluxDB  # noqa: E402  (tests/services.py)

CATEGORIES = ["Ordinateur portable", "Écran", "PC fixe", "Smartphone", "Tablette", "Client léger", "Imprimante"]


def write_register(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, delimiter=";")
        out.writerow(["N° d'inventaire", "Type", "Fabricant", "Modèle", "Numéro de série", "Quantité", "Lieu",
                      "Direction", "Date d'achat", "manufacture_gwp_kgco2e"])
        for i in range(rows):
            category = rng.choice(CATEGORIES)
            out.writerow([f"INV-{i:06d}", category, "Dell", "Model", f"SN{i:08d}", rng.randint(1, 3), f"Site {i % 40}",
                          f"Direction {i % 12}", f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
                          f"{rng.randint(2019, 2025)}", "150" if category == "Imprimante" else ""])


def timed_import(estate: Path, register: Path) -> tuple[float, float, str]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "import resource, sys; from fleetprint.cli import main; "
                           "sys.argv = ['fleetprint'] + sys.argv[1:]\ntry:\n main()\nexcept SystemExit:\n pass\n"
                           "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)",
                           "assets", "import", "--estate", str(estate), "--source", "bench", str(register)],
                          capture_output=True, text=True, check=True)
    return time.monotonic() - started, int(done.stderr.strip().splitlines()[-1]) / 1024, done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        register, estate_path = work / "register.csv", work / "estate.sqlite3"
        write_register(register, args.rows)
        for label in ("first import", "same register again"):
            wall, rss, said = timed_import(estate_path, register)
            print(f"{label}: {wall:.1f} s, peak RSS {rss:.0f} MiB: {said.split(': ', 1)[1].split(' (in')[0]}")
        influx = InfluxDB()
        influx.start(work / "influxdb")
        try:
            influx.query("CREATE DATABASE bench")
            estate = Estate(estate_path)
            job = EstateJob(estate, InfluxV1Sink(influx.url, "bench"), GridFactors({}, {}, None), {},
                            ImpactSettings(default_zone="FRA"), AttributionSettings())
            now = estate.devices()[0].listed_at + timedelta(hours=2)  # the first whole hour after the import
            cpu, started = resource.getrusage(resource.RUSAGE_SELF).ru_utime, time.monotonic()
            points = job.run(now)  # the hours since the import: the first whole one
            wall, cpu = time.monotonic() - started, resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"estate job, one hour of {args.rows:,} devices: {points:,} points in {wall:.1f} s "
                  f"({cpu:.1f} s CPU in the collector, the rest InfluxDB's), peak RSS {rss:.0f} MiB")
        finally:
            influx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
