"""The agent's ticker on a simulated clock: cadence, coalesced late runs, skipped ones, failures."""

from __future__ import annotations

import logging

import pytest

from fleetprint.agent.ticker import Ticker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _ticker(grace_s: float) -> tuple[Ticker, FakeClock, list[tuple[str, float]]]:
    clock = FakeClock()
    return Ticker(grace_s, clock=clock, sleep=clock.sleep), clock, []


def test_jobs_keep_their_cadence_until_stopped() -> None:
    ticker, clock, runs = _ticker(10.0)
    ticker.every(30.0, "sample", lambda: runs.append(("sample", clock.now)))
    ticker.every(75.0, "inventory", lambda: runs.append(("inventory", clock.now)))
    ticker.every(290.0, "stop", ticker.stop)
    ticker.run()
    assert [t - 1000.0 for name, t in runs if name == "sample"] == [30.0 * k for k in range(1, 10)]
    assert [t - 1000.0 for name, t in runs if name == "inventory"] == [75.0, 150.0, 225.0]


@pytest.mark.parametrize("held_up_s, expected_runs", [(95.0, 1), (105.0, 0)])
def test_a_late_run_is_coalesced_within_the_grace_and_skipped_beyond(held_up_s: float, expected_runs: int) -> None:
    """Held up past the runs due at 30, 60 and 90 s: one run if 90 s is at most the grace ago."""
    ticker, clock, runs = _ticker(10.0)
    ticker.every(30.0, "sample", lambda: runs.append(("sample", clock.now)))
    ticker.every(1.0, "hold", lambda: None)
    first = []

    def hold_once() -> None:  # a job that blocks the loop once, like a process stopped for a while
        if not first:
            first.append(clock.now)
            clock.now += held_up_s

    ticker._jobs[1].run = hold_once
    ticker.every(119.0, "stop", ticker.stop)  # stop before the next regular run at 120 s
    ticker.run()
    late = [t - 1000.0 for _, t in runs]
    assert len(late) == expected_runs
    if expected_runs:
        assert late == [1.0 + held_up_s]  # run once, at once, for the three it missed


def test_zero_grace_runs_however_late() -> None:
    ticker, clock, runs = _ticker(0.0)
    ticker.every(30.0, "sample", lambda: runs.append(("sample", clock.now)))
    clock.now += 3600.0
    ticker.every(1.0, "stop", ticker.stop)
    ticker.run()
    assert len(runs) == 1


def test_a_failing_job_is_logged_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    ticker, clock, runs = _ticker(10.0)

    def fails() -> None:
        runs.append(("fails", clock.now))
        raise OSError("disk full")

    ticker.every(30.0, "sample", fails)
    ticker.every(100.0, "stop", ticker.stop)
    with caplog.at_level(logging.ERROR):
        ticker.run()
    assert len(runs) == 3
    assert caplog.text.count("sample failed") == 3 and "disk full" in caplog.text


def test_a_job_with_slack_runs_with_another_jobs_wake_up() -> None:
    """The inventory refresh (every 75 s, slack 30 s) runs when the sample (every 30 s) wakes the
    thread: the thread sleeps once per sample, never for the refresh."""
    ticker, clock, runs = _ticker(10.0)
    sleeps = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.sleep(seconds)

    ticker._sleep = sleep
    ticker.every(30.0, "sample", lambda: runs.append(("sample", clock.now)))
    ticker.every(75.0, "inventory", lambda: runs.append(("inventory", clock.now)), slack_s=30.0)
    ticker.every(300.0, "stop", ticker.stop, slack_s=30.0)
    ticker.run()
    assert [t - 1000.0 for name, t in runs if name == "inventory"] == [90.0, 150.0, 240.0, 300.0]
    assert sleeps == [30.0] * 10, "one sleep per sample"
