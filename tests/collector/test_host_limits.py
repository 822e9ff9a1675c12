"""What one host may cost the others: its services are bounded, its points rate-limited."""

from __future__ import annotations

from fleetprint.collector.host_limits import ReportGuard, ServiceBound


def test_services_past_the_bound_fold_into_unallocated_and_shares_still_add_up() -> None:
    bound = ServiceBound(max_services=3, unallocated="unallocated")
    assert bound.bounded("h", {"a": 0.1, "b": 0.2}) == ({"a": 0.1, "b": 0.2}, 0)
    shares, over = bound.bounded("h", {"a": 0.1, "c": 0.2, "d": 0.3, "e": 0.05, "unallocated": 0.01})
    assert over == 2  # c is the third name; d and e are past the bound
    assert shares == {"a": 0.1, "c": 0.2, "unallocated": 0.01 + 0.3 + 0.05}
    assert bound.bounded("h", {"b": 0.5, "c": 0.4}) == ({"b": 0.5, "c": 0.4}, 0), "known names stay known"
    assert bound.bounded("other", {"d": 0.3, "e": 0.1}) == ({"d": 0.3, "e": 0.1}, 0), "the bound is per host"


def test_hosts_with_the_same_services_share_one_set() -> None:
    bound = ServiceBound(max_services=64, unallocated="unallocated")
    for host in ("h1", "h2"):
        bound.bounded(host, {"web": 0.5, "db": 0.1})
    assert bound._seen["h1"] is bound._seen["h2"]


def test_the_rate_limit_is_a_token_bucket_per_host() -> None:
    now = [0.0]
    limit = ReportGuard(rate_per_s=100, burst=500, clock=lambda: now[0])
    assert limit.take("h", 500)
    assert not limit.take("h", 1), "the burst is spent"
    assert limit.take("other", 500), "each host has its own bucket"
    now[0] = 2.0
    assert limit.take("h", 200) and not limit.take("h", 1)
    now[0] = 1000.0
    assert limit.take("h", 500) and not limit.take("h", 1), "never more than the burst saved up"


def test_a_report_older_than_the_latest_learns_how_far_the_latest_went() -> None:
    guard = ReportGuard(rate_per_s=1, burst=1)
    assert guard.stored_up_to("h", seq=5, newest_s=1_000) is None
    assert guard.stored_up_to("h", seq=5, newest_s=900) is None, "the same seq again is no replay"
    assert guard.stored_up_to("h", seq=4, newest_s=2_000) == 1_000
    assert guard.stored_up_to("h", seq=6, newest_s=500) is None
    assert guard.stored_up_to("h", seq=5, newest_s=800) == 1_000, "the newest time seen is kept"
    assert guard.stored_up_to("other", seq=1, newest_s=1) is None
