"""The agent's clock: jobs at fixed intervals on the monotonic clock, in one thread.

A run that comes late (a slow job, a stopped process) is run once for all the runs it
missed (coalesced) when the last of them was due at most `grace_s` ago (0: however long),
and skipped otherwise; either way the job keeps its cadence. A job that raises is logged and runs
again next time.

The thread sleeps until a job is due, and a job given a slack (`every(..., slack_s=)`) may run
up to that much later so as to run when another job wakes the thread: the agent's inventory
refresh, with the sampling interval as its slack, never wakes the agent on its own.

This replaces APScheduler in the agent: its import chain (asyncio, importlib.metadata,
concurrent.futures) cost the agent ~4 MB of its 30 MB budget (docs/performance.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Job:
    name: str
    interval_s: float
    run: Callable[[], None]
    due: float
    slack_s: float


class Ticker:
    """Runs registered jobs every `interval_s` until `stop()` (safe from a signal handler)."""

    def __init__(self, grace_s: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] | None = None) -> None:
        self.grace_s = grace_s
        self._clock = clock
        self._jobs: list[_Job] = []
        self._stopped = threading.Event()
        self._sleep = sleep or self._stopped.wait  # returns early on stop()

    def every(self, interval_s: float, name: str, job: Callable[[], None], slack_s: float = 0.0) -> None:
        """Run `job` every `interval_s` seconds, the first time one interval from now; up to
        `slack_s` late when that lets it run with another job."""
        self._jobs.append(_Job(name, interval_s, job, self._clock() + interval_s, slack_s))

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        """Run the jobs as they fall due until stopped."""
        while self._jobs and not self._stopped.is_set():
            now = self._clock()
            wake_at = min(j.due + j.slack_s for j in self._jobs)
            if wake_at > now:
                self._sleep(wake_at - now)
                continue
            for job in sorted((j for j in self._jobs if j.due <= now), key=lambda j: j.due):
                self._run_due(job, now)

    def _run_due(self, job: _Job, now: float) -> None:
        missed = int((now - job.due) // job.interval_s)
        late_s = now - job.due - missed * job.interval_s  # since the last due time it missed
        job.due += (missed + 1) * job.interval_s
        if self.grace_s and late_s > job.slack_s + self.grace_s:
            log.warning("%s skipped: %.1f s late (grace %.0f s)", job.name, late_s, self.grace_s)
            return
        try:
            job.run()
        except Exception:
            log.exception("%s failed; it runs again in %.0f s", job.name, job.interval_s)
