"""Health files: a long-running program's heartbeat, read by `fleetprint agent|collector health`.

The program replaces a small JSON file (a temporary file renamed over it) at each pass of its
main loop: the agent after each sample, the collector at most every `health_interval_s`, and
once more when it stops. The check reads it: healthy while the last beat is younger than the
file's max age (a few intervals) and the program has not stopped. The state of the broker (and
the database) is reported but is no reason to fail: an agent queueing through a broker outage is
alive, and restarting it would not help. Only `--ready` also wants every connection up.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NoReturn

import click

log = logging.getLogger(__name__)


def iso(seconds: float) -> str:
    """Wall-clock seconds as 2026-11-30T08:15:02Z."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@dataclass(frozen=True)
class Link:
    """A connection's state as the health file shows it."""

    address: str
    up: bool = False
    since: float = field(default_factory=time.time)  # wall-clock time this state began
    reason: str = ""  # the last failure's, while down
    attempts: int = 0  # failed attempts since it went down

    def failed(self, reason: str) -> Link:
        """One more failed attempt (down since the first)."""
        if self.up:
            return Link(self.address, False, time.time(), reason, 1)
        return replace(self, reason=reason, attempts=self.attempts + 1)

    def lost(self, reason: str) -> Link:
        """The connection dropped."""
        return Link(self.address, False, time.time(), reason) if self.up else self

    def restored(self) -> Link:
        return Link(self.address, True, time.time())

    def describe(self, name: str) -> str:
        if self.up:
            return f"{name} {self.address} up since {iso(self.since)}"
        if not self.attempts and not self.reason:
            return f"{name} {self.address} not connected yet (since {iso(self.since)})"
        tried = f"{self.attempts} failed attempt{'s' * (self.attempts != 1)}, last: " if self.attempts else ""
        return f"{name} {self.address} unreachable since {iso(self.since)} ({tried}{self.reason})"


class HealthFile:
    """The writing side: one program's beats, each replacing the file whole."""

    def __init__(self, path: Path, program: str, name: str, beat: str, every_s: float, max_age_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._head = {"program": program, "name": name, "pid": os.getpid(), "beat": beat, "every_s": every_s,
                      "max_age_s": max_age_s}
        self._clock = clock
        self._failed = ""

    def beat(self, links: Sequence[tuple[str, Link]], note: str = "") -> None:
        """The program is alive now; `links` (name, state) and `note` say how it fares."""
        self._write({**self._head, "at": self._clock(), "stopped": False, "note": note,
                     "links": [{"name": name, **asdict(link)} for name, link in links]})

    def stopped(self) -> None:
        self._write({**self._head, "at": self._clock(), "stopped": True, "note": "", "links": []})

    def _write(self, status: dict) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")  # this process's alone
        try:
            try:
                with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), "w") as file:
                    os.fchmod(file.fileno(), 0o644)  # whatever the umask: no secret in it, any user may check
                    file.write(json.dumps(status))
                os.replace(temporary, self.path)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        except OSError as exc:
            if str(exc) != self._failed:
                log.error("cannot write the health file %s (%s): `health` will say this program is down", self.path,
                          exc)
            self._failed = str(exc)
        else:
            self._failed = ""


def check(path: Path, program: str, max_age_s: float | None = None, ready: bool = False,
          now: float | None = None) -> tuple[bool, str]:
    """Whether the program that writes `path` is alive (and with `ready`, connected), and one line saying so."""
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False, f"unhealthy: no health file {path}: the {program} is not running (or runs with another config)"
    except (OSError, ValueError) as exc:
        return False, f"unhealthy: cannot read the health file {path}: {exc}"
    who = f"{status['program']} {status['name']}"
    if status["stopped"]:
        return False, f"unhealthy: {who} stopped at {iso(status['at'])}"
    age_s = max(0.0, (time.time() if now is None else now) - status["at"])
    limit_s = status["max_age_s"] if max_age_s is None else max_age_s
    links = {entry.pop("name"): Link(**entry) for entry in status["links"]}
    states = "; ".join([link.describe(name) for name, link in links.items()] + [status["note"]] * bool(status["note"]))
    every = f"every {status['every_s']:g} s"
    if age_s > limit_s:
        return False, (f"unhealthy: {who}: no {status['beat']} for {age_s:.0f} s ({every}, stale after {limit_s:g} s); "
                       f"{states}")
    down = [name for name, link in links.items() if not link.up]
    if ready and down:
        return False, f"not ready: {who}: {' and '.join(down)} down; {states}"
    return True, f"healthy: {who}: last {status['beat']} {age_s:.0f} s ago ({every}); {states}"


def health_options(command: Callable) -> Callable:
    """`--max-age` and `--ready`, the options of both programs' `health` commands."""
    command = click.option("--ready", is_flag=True, help="Also fail while a connection (broker, database) is "
                                                         "down: for readiness probes.")(command)
    return click.option("--max-age", type=click.FloatRange(min=0), default=None,
                        help="Seconds since the last beat past which the program counts as hung "
                             "(default: the program's own, a few of its intervals).")(command)


def exit_with_health(path: Path, program: str, max_age_s: float | None, ready: bool) -> NoReturn:
    """Print the check's line; exit 0 when healthy, 1 when not."""
    healthy, line = check(path, program, max_age_s, ready)
    click.echo(line)
    raise SystemExit(0 if healthy else 1)
