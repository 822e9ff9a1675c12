"""Writing the generated dashboards and provisioning files into a folder (the committed copies)."""

from __future__ import annotations

import json
from pathlib import Path

from fleetprint.dashboards.definitions import ROLLUP_POLICY, all_dashboards
from fleetprint.dashboards.provisioning import dashboard_provider, datasources, datasources_v2


def generated_files(rollup_policy: str = ROLLUP_POLICY) -> dict[str, str]:
    """Relative path -> content of every generated file; rollups read first in `rollup_policy`."""
    files = {f"json/{board['uid']}.json": json.dumps(board, indent=2, ensure_ascii=False) + "\n"
             for board in all_dashboards(rollup_policy)}
    files["provisioning/datasources/fleetprint-influxdb-v1.yaml"] = datasources()
    files["provisioning/datasources/fleetprint-influxdb-v2.yaml.example"] = datasources_v2()
    files["provisioning/dashboards/fleetprint.yaml"] = dashboard_provider()
    return files


def write(folder: Path, rollup_policy: str = ROLLUP_POLICY) -> list[Path]:
    written = []
    for relative, content in generated_files(rollup_policy).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written
