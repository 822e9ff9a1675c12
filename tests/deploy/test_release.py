"""scripts/release in a scratch clone: the version from the tag, every tracked file of the packages in the
wheel (and nothing else), the agent-only install running `agent once`, the digests it prints, a dirty tree
refused, and the README's install lines run against the release."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from releases import RELEASED, git, release, serving
from stack import REPO

from fleetprint.schema import decode_inventory, decode_report

WHEEL = f"fleetprint-{RELEASED}-py3-none-any.whl"
SDIST = f"fleetprint-{RELEASED}.tar.gz"


def test_the_tag_names_the_release_and_its_digests_are_printed(released) -> None:
    clone, output = released
    lines = output.splitlines()
    assert lines[0] == f"fleetprint {RELEASED}, from v{RELEASED}"
    for name in (WHEEL, SDIST):
        digest = hashlib.sha256((clone / "dist" / name).read_bytes()).hexdigest()
        assert f"{digest}  dist/{name}" in lines
    pinned = re.search(r"FLEETPRINT_VERSION:-([^}]*)}", (clone / "deploy/compose/compose.yaml").read_text()).group(1)
    assert f"release: the deploy files pin our images at {pinned}: set {RELEASED} in " in output, \
        "a release that the deploy files do not name is said"


def wheel_path(folder_file: str, package_dir: dict[str, str]) -> str:
    """Where a file of a mapped folder lands in the wheel (agent/sources/x.py -> fleetprint/agent/sources/x.py)."""
    folder = max((path for path in package_dir.values() if folder_file.startswith(path + "/")), key=len)
    package = next(name for name, path in package_dir.items() if path == folder)
    return package.replace(".", "/") + folder_file[len(folder):]


def test_the_wheel_holds_every_tracked_file_of_the_packages_and_nothing_else(released) -> None:
    """The product's folders are pyproject.toml's package-dir, whose subpackages setup.py finds: every file git
    tracks in them, *.py or package data, ships (and nothing else), and no top-level package folder is left out."""
    clone, _ = released
    package_dir = tomllib.loads((clone / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    top_level_packages = {path.split("/")[0] for path in git(clone, "ls-files", "*/__init__.py").split()
                          if path.count("/") == 1}
    assert top_level_packages <= set(package_dir.values()), "a top-level package folder is missing from package-dir"
    tracked = git(clone, "ls-files", *package_dir.values()).split()
    expected = {wheel_path(path, package_dir) for path in tracked}
    assert {"fleetprint/collector/budgets/__init__.py", "fleetprint/collector/impact/data/server_power_model.json",
            "fleetprint/report/templates/report.html.j2", "fleetprint/agent/sources/__init__.py",
            "fleetprint/agent/power/rapl.py", "fleetprint/dashboards/json/fp-fleet.json"} <= expected
    with zipfile.ZipFile(clone / "dist" / WHEEL) as wheel:
        shipped = {name for name in wheel.namelist() if not name.startswith(f"fleetprint-{RELEASED}.dist-info/")}
        metadata = wheel.read(f"fleetprint-{RELEASED}.dist-info/METADATA").decode().splitlines()
        entry_points = wheel.read(f"fleetprint-{RELEASED}.dist-info/entry_points.txt").decode()
    assert sorted(expected - shipped) == [], ("not in the wheel: a *.py in a folder without __init__.py, or a data "
                                              "file that [tool.setuptools.package-data] does not name")
    assert sorted(shipped - expected) == [], "in the wheel but not tracked"
    assert f"Version: {RELEASED}" in metadata and "Provides-Extra: agent" in metadata
    assert "fleetprint = fleetprint.cli:main" in entry_points


def test_the_agent_only_install_runs_agent_once(released, tmp_path: Path) -> None:
    """The wheel with its [agent] extra alone in a fresh environment (dependencies as the machine's pip config
    finds them): every agent module imports, none of the collector's dependencies is installed, and
    `fleetprint agent once` prints an inventory and a report."""
    clone, _ = released
    venv = tmp_path / "agent-only"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install", "-q",
                                "--disable-pip-version-check", f"{clone / 'dist' / WHEEL}[agent]"],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    code = ("import importlib, importlib.metadata as m, pkgutil, fleetprint.agent as agent\n"
            "for module in pkgutil.walk_packages(agent.__path__, 'fleetprint.agent.'):\n"
            "    importlib.import_module(module.name)\n"
            "print(agent.__file__)\nprint(*sorted(dist.metadata['Name'].lower() for dist in m.distributions()))")
    imported = subprocess.run([str(venv / "bin/python"), "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    agent_init, distributions = imported.stdout.splitlines()
    assert Path(agent_init).is_relative_to(venv), "imported from the wheel, not from the checkout"
    collector_extra = tomllib.loads((clone / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    collector_only = {re.split(r"[\s<>=!~;\[]", requirement)[0].lower()
                      for requirement in collector_extra["collector"]} - {"fleetprint"}
    assert "influxdb-client" in collector_only and not collector_only & set(distributions.split()), distributions
    result = subprocess.run([str(venv / "bin/fleetprint"), "agent", "once", "--interval", "0.2"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "FLEETPRINT_AGENT_HOST__ID": "agent-only"})
    assert result.returncode == 0, result.stderr
    inventory_line, report_line = result.stdout.splitlines()
    inventory, report = decode_inventory(inventory_line.encode()), decode_report(report_line.encode())
    assert inventory.host_id == report.host_id == "agent-only" and report.samples[0].mem_total_bytes > 0


@pytest.mark.parametrize("change", ["modified", "untracked"])
def test_a_dirty_tree_is_refused(released, change: str) -> None:
    clone, _ = released
    before = sorted(os.listdir(clone / "dist"))
    changed = clone / ("README.md" if change == "modified" else "agent/stray.py")
    original = changed.read_text() if changed.exists() else None
    changed.write_text("# not committed\n")
    try:
        result = release(clone)
    finally:
        if original is None:
            changed.unlink()
        else:
            changed.write_text(original)
    assert result.returncode == 1
    assert "uncommitted or untracked files" in result.stderr and changed.name in result.stderr
    assert sorted(os.listdir(clone / "dist")) == before, "nothing built"


@pytest.fixture
def served(released, tmp_path: Path) -> Iterator[str]:
    """The wheel on a loopback web server, as /WHEEL and in a package index, /simple/fleetprint/WHEEL."""
    clone, _ = released
    root = tmp_path / "served"
    (root / "simple/fleetprint").mkdir(parents=True)
    for folder in (root, root / "simple/fleetprint"):
        shutil.copy(clone / "dist" / WHEEL, folder)
    with serving(root) as url:
        yield url


def readme_install_lines() -> list[str]:
    section = (REPO / "README.md").read_text().split("\n## Installing\n", 1)[1].split("\n## ", 1)[0]
    return [line.split("  #")[0].strip() for line in section.splitlines() if line.startswith("pip install")]


def test_the_readme_install_lines_install_the_release(released, served: str, tmp_path: Path) -> None:
    """Each line as written, run in the wheel's folder with the release's version and the test server's
    addresses, into a fresh environment (--no-deps: the dependencies are pip's business, not the release's)."""
    clone, _ = released
    lines = readme_install_lines()
    assert len(lines) >= 4 and any("--index-url" in line for line in lines)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PIP_")}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "no_proxy": "127.0.0.1"}
    for index, line in enumerate(lines):
        venv = tmp_path / f"venv-{index}"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
        command = re.sub(r"https://[\w.]+\.example\.org", served, line.replace("0.2.0", RELEASED))
        pip = 'target="$1"; pip() { "$0" -m pip --python "$target" "$@" --no-deps; }'
        result = subprocess.run(["bash", "-c", f"{pip}\n{command}", sys.executable, str(venv / "bin/python")],
                                cwd=clone / "dist", env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{line}\n{result.stderr}"
        installed = subprocess.run([str(venv / "bin/python"), "-I", "-c", "import importlib.metadata as m; "
                                    "print(m.version('fleetprint'))"], capture_output=True, text=True, timeout=60)
        assert installed.stdout.strip() == RELEASED, line
