"""What every check of `fleetprint doctor` uses: the result type, the printer, the config and clock checks.

A check gives one line: its status (OK, INFO, WARN, FAIL), what it found and, when not OK, what
to do. The agent's checks (fleetprint.agent.doctor), the collector's (fleetprint.collector.doctor)
and the broker's both share (fleetprint.doctor_broker) build on this module; the command that
runs them is fleetprint.doctor.
"""

from __future__ import annotations

import ctypes
import email.utils
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

import click

from fleetprint.config import ConfigError

Status = Literal["OK", "INFO", "WARN", "FAIL"]
T = TypeVar("T")

# A Date header has a 1 s resolution: beyond these, the clocks disagree.
SKEW_WARN_S = 2.0
SKEW_FAIL_S = 60.0


@dataclass(frozen=True)
class Check:
    """One check's outcome: `fix` says what to do when the status is not OK."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name:<20} {self.detail}"
        return f"{text}\n      fix: {self.fix}" if self.fix and self.status != "OK" else text


def report(checks: Iterable[Check], echo: Callable[[str], None] = click.echo) -> int:
    """Print each check as it comes; 1 when any failed, else 0."""
    failed = 0
    for check in checks:
        echo(check.line())
        failed += check.status == "FAIL"
    echo(f"{failed} check(s) failed" if failed else "no check failed")
    return 1 if failed else 0


def load_checked(loader: Callable[[str | None], T], path: str | None) -> tuple[Check, T | None]:
    """The config check, and the config when it is valid."""
    try:
        config = loader(path)
    except ConfigError as exc:
        return Check("config", "FAIL", str(exc),
                     f"correct `{exc.key}` in {exc.source}" if exc.key else f"fix {exc.source}"), None
    return Check("config", "OK", f"{path or '(defaults)'} is valid"), config


def clock_against(url: str, headers: dict[str, str] | None = None, timeout_s: float = 5.0) -> Check:
    """This clock against the `Date` header of an HTTP server (an InfluxDB's /ping, a web server)."""
    request = urllib.request.Request(url, headers=headers or {}, method="GET")
    before = time.time()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            date = response.headers.get("Date")
    except urllib.error.HTTPError as exc:
        date = exc.headers.get("Date")
    except (OSError, ValueError) as exc:
        return Check("clock", "WARN", f"cannot read the time of {url}: {exc}", "give a reachable HTTP server")
    after = time.time()
    parsed = email.utils.parsedate_to_datetime(date) if date else None
    if parsed is None:
        return Check("clock", "WARN", f"{url} sends no Date header", "give an HTTP server that dates its answers")
    skew = (before + after) / 2 - (parsed.timestamp() + 0.5)  # the header truncates to the second
    where = f"{abs(skew):.1f} s {'ahead of' if skew > 0 else 'behind'} {url} (Date header, ±1 s)"
    fix = "synchronise this machine's clock with NTP (chrony or systemd-timesyncd): samples carry its time"
    if abs(skew) >= SKEW_FAIL_S:
        return Check("clock", "FAIL", where, fix)
    if abs(skew) >= SKEW_WARN_S:
        return Check("clock", "WARN", where, fix)
    return Check("clock", "OK", where)


class _Timex(ctypes.Structure):
    """struct timex (Linux, adjtimex(2)): the fields read here, then room for the rest."""

    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("_rest", ctypes.c_long * 32)]


_TIME_ERROR = 5  # adjtimex's answer when the kernel clock is not synchronised (STA_UNSYNC)


def clock_sync() -> Check:
    """Whether an NTP daemon disciplines the kernel clock, from adjtimex(2) (read-only, modes = 0)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))
    except (OSError, AttributeError):
        return Check("clock sync", "INFO", "adjtimex(2) not available: cannot tell whether NTP runs")
    if state < 0:
        return Check("clock sync", "INFO", f"adjtimex(2) failed (errno {ctypes.get_errno()})")
    if state == _TIME_ERROR:
        return Check("clock sync", "WARN", "the kernel clock is not synchronised (no NTP daemon disciplines it)",
                     "run chrony or systemd-timesyncd (in a container: on the host)")
    return Check("clock sync", "OK", f"synchronised, estimated error {timex.esterror / 1000:.1f} ms")
