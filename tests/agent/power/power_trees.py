"""The recorded machines the power source tests read (tests/data/power, tests/data/hosts), and
helpers to move their energy counters and check a mean power against them."""

from __future__ import annotations

import shutil
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data"
POWER = DATA / "power"
HOSTS = DATA / "hosts"


def copy_tree(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(POWER / name, tmp_path / name, symlinks=True))


def set_energy(root: Path, zone: str, microjoules: int) -> None:
    (root / "sys/class/powercap" / zone / "energy_uj").write_text(f"{microjoules}\n")


def add_energy(root: Path, zone: str, microjoules: int) -> None:
    path = root / "sys/class/powercap" / zone / "energy_uj"
    set_energy(root, zone, int(path.read_text()) + microjoules)


def assert_mean(watts: float, joules: float, shortest: float, longest: float) -> None:
    """`watts` is `joules` over the elapsed time, which lies between `shortest` and `longest` (the
    bracket is exact; where within it depends on the scheduler, so nothing more is asserted)."""
    assert joules / longest <= watts <= joules / shortest
