"""The version is read from the name of the installed distribution's dist-info folder, without
importlib.metadata (whose imports cost the agent ~5 MB)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleetprint import installed_version


def test_the_version_is_the_dist_info_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    site = tmp_path / "site"
    for name in ("fleetprint_extras-9.9.dist-info", "fleetprint-agent-1.0.dist-info",
                 "fleetprint-0.3.1.dev4+gabc123.dist-info", "other-2.0.dist-info"):
        (site / name).mkdir(parents=True)
    assert installed_version([str(tmp_path / "missing"), str(tmp_path / "empty"), str(site)]) == "0.3.1.dev4+gabc123"


def test_importing_fleetprint_does_not_load_importlib_metadata() -> None:
    code = "import sys, fleetprint; print(fleetprint.__version__, 'importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    from importlib.metadata import version

    assert out == [version("fleetprint"), "False"]
