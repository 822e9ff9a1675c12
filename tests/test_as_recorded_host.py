"""tools/as-recorded-host: a command sees a recorded machine's CPU, memory and disks, and this
machine is left as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleetprint.schema import decode_inventory

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "as-recorded-host"


def inventory(*prefix: str):
    result = subprocess.run([*prefix, str(Path(sys.executable).parent / "fleetprint"), "agent", "inventory"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return decode_inventory(result.stdout.encode())


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")
def test_a_command_sees_the_recorded_machine_and_only_it_does() -> None:
    before = inventory()
    seen = inventory(str(TOOL), str(REPO / "tests/data/hosts/xeon-rack-server"))
    assert (seen.cpu.model, seen.cpu.sockets, seen.ram_gb) == ("Intel(R) Xeon(R) Silver 4208 CPU @ 2.10GHz", 2, 377.46)
    assert [(disk.name, disk.kind) for disk in seen.disks] == [("nvme0n1", "nvme"), ("sda", "hdd"), ("sdb", "hdd")]
    after = inventory()
    assert (after.cpu, after.ram_gb, after.disks) == (before.cpu, before.ram_gb, before.disks)
