"""Reports held for their host's inventory: bounded in number, bytes and time; past the bytes, the
largest holder pays."""

from __future__ import annotations

from fleetprint.collector.held import HeldMessage, HeldReports


def _message(mid: int, size: int, at: float = 0.0) -> HeldMessage:
    return HeldMessage("p/hosts/h/report", b"x" * size, mid, 1, held_at=at)


def test_past_the_bytes_the_host_holding_the_most_loses_its_oldest() -> None:
    held = HeldReports(max_messages=100, max_bytes=1000, max_wait_s=60)
    assert held.hold("small", _message(1, 100)) == []
    assert held.hold("large", _message(2, 400)) == []
    assert held.hold("large", _message(3, 400)) == []
    pushed = held.hold("small", _message(4, 200))  # 1,100 bytes: "large" holds the most
    assert [m.mid for m in pushed] == [2]
    assert held.bytes == 700 and len(held) == 3
    assert [m.mid for m in held.release("small")] == [1, 4]
    assert held.bytes == 400 and len(held) == 1


def test_past_the_count_and_the_time_too() -> None:
    held = HeldReports(max_messages=2, max_bytes=10**9, max_wait_s=60)
    held.hold("a", _message(1, 10, at=0.0))
    held.hold("b", _message(2, 20, at=1.0))
    assert [m.mid for m in held.hold("b", _message(3, 20, at=2.0))] == [2]
    assert [m.mid for m in held.expired(now=61.5)] == [1]
    assert len(held) == 1 and held.bytes == 20
    assert [m.mid for m in held.expired(now=62.5)] == [3]
    assert len(held) == 0 and held.bytes == 0
