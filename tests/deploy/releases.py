"""scripts/release run for real in a scratch clone of this checkout, versioned by the tags it is given."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from stack import REPO

RELEASED = "9.8.7"  # the version the deploy tests release
IDENTITY = ["-c", "user.name=fleetprint tests", "-c", "user.email=tests@fleetprint.invalid"]


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def scratch_clone(dest: Path) -> Path:
    """A clone whose HEAD is this checkout's tracked files as they are now, uncommitted changes included."""
    snapshot = git(REPO, "stash", "create").strip() or git(REPO, "rev-parse", "HEAD").strip()
    git(REPO, "clone", "-q", "--shared", str(REPO), str(dest))  # --shared: the snapshot's objects are reachable
    git(dest, "checkout", "-q", "--detach", snapshot)
    return dest


def release(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The clone's scripts/release, with this interpreter's `build`."""
    return subprocess.run(["bash", str(clone / "scripts/release"), "--python", sys.executable, *args],
                          capture_output=True, text=True, timeout=300)


def tag_and_release(clone: Path, version: str) -> str:
    """Tags a new empty commit v`version` and releases it into the clone's dist/; what the release printed
    (standard output, then its warnings)."""
    git(clone, "commit", "-q", "--allow-empty", "-m", f"release {version}")
    git(clone, "tag", f"v{version}")
    result = release(clone)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def tag_and_build_wheel(clone: Path, version: str) -> Path:
    """Tags a new empty commit v`version` and builds its wheel alone into the clone's dist/ (a later release,
    for an upgrade: scripts/release itself is tested on the first, and a wheel is half its build's time)."""
    git(clone, "commit", "-q", "--allow-empty", "-m", f"release {version}")
    git(clone, "tag", f"v{version}")
    result = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(clone / "dist"), str(clone)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return clone / "dist" / f"fleetprint-{version}-py3-none-any.whl"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serving(root: Path) -> Iterator[str]:
    """`root` on a loopback web server; its address. A folder simple/<name>/ of wheels makes a package index:
    pip reads the server's listings as an index's pages."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
