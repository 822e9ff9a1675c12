"""The committed dashboards and provisioning are what the code generates, and are well formed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fleetprint.dashboards.build import generated_files
from fleetprint.dashboards.cli import dashboards
from fleetprint.dashboards.definitions import all_dashboards

FOLDER = Path(__file__).resolve().parents[2] / "dashboards"


@pytest.mark.parametrize("relative", sorted(generated_files()))
def test_committed_file_equals_the_generated_one(relative: str) -> None:
    committed = FOLDER / relative
    assert committed.exists(), f"{relative} missing: run `fleetprint dashboards build`"
    assert committed.read_text(encoding="utf-8") == generated_files()[relative], \
        f"{relative} differs from the code: run `fleetprint dashboards build`"


@pytest.mark.parametrize("board", all_dashboards(), ids=lambda board: board["uid"])
def test_dashboard_structure(board: dict) -> None:
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    cells = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"panel {panel['title']} overlaps another"
                cells.add((x, y))
        assert panel["datasource"]["uid"] == "fleetprint-influxdb"
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["rawQuery"] and target["query"].startswith("SELECT"), panel["title"]
    names = {variable["name"] for variable in board["templating"]["list"]}
    used = {name for name in ("site", "service", "host", "rollup_rp")
            if any(f"${name}" in target["query"] for panel in board["panels"] for target in panel["targets"])}
    assert used <= names, f"variables used but not defined: {used - names}"
    for panel in board["panels"]:
        for target in panel["targets"]:
            assert not re.search(r'(?<!"\$rollup_rp"\.)"fp_\w+_1[hd]"', target["query"]), \
                f"{panel['title']}: a rollup read outside their retention policy"
    assert board["timezone"] == "utc" and board["refresh"]


def test_provisioning_points_at_the_dashboards_datasource() -> None:
    for relative, content in generated_files().items():
        if relative.startswith("provisioning/datasources/"):
            (source,) = yaml.safe_load(content)["datasources"]
            assert source["uid"] == "fleetprint-influxdb" and source["type"] == "influxdb"
    provider = yaml.safe_load(generated_files()["provisioning/dashboards/fleetprint.yaml"])["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"]
    assert {json.loads(content)["uid"] for relative, content in generated_files().items()
            if relative.startswith("json/")} == {"fp-fleet", "fp-service", "fp-host", "fp-budgets", "fp-inventory",
                                                 "fp-quality"}


def test_the_rollup_panels_select_the_collectors_rollup_policy(tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text('[influxdb]\nrollup_retention_policy = "forever"\n', encoding="utf-8")
    result = CliRunner().invoke(dashboards, ["build", "-o", str(tmp_path), "-c", str(config)])
    assert result.exit_code == 0, result.output
    for uid in ("fp-service", "fp-budgets"):
        board = json.loads((tmp_path / "json" / f"{uid}.json").read_text(encoding="utf-8"))
        (variable,) = [v for v in board["templating"]["list"] if v["name"] == "rollup_rp"]
        assert variable["current"]["value"] == "forever" and variable["query"] == "SHOW RETENTION POLICIES"
