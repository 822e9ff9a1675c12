"""Reports that arrived before their host's inventory, held (unacknowledged) until it comes.

After a collector restart the broker delivers the reports queued in its session at once,
before the retained inventories that the new subscription brings: rejecting them would
lose them. They wait here, bounded in number, in bytes and in time; past a bound the oldest
report of the host that holds the most bytes is rejected as `no_inventory` (so that a host
sending large reports without an inventory pushes out its own, not others'), and past
the time its host's inventory had to come, each is.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class HeldMessage:
    topic: str
    payload: bytes
    mid: int
    qos: int
    held_at: float = field(default_factory=time.monotonic)


class HeldReports:
    """Per-host queues of held reports, oldest host first."""

    def __init__(self, max_messages: int, max_bytes: int, max_wait_s: float) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.max_wait_s = max_wait_s
        self._by_host: OrderedDict[str, deque[HeldMessage]] = OrderedDict()
        self._bytes_by_host: dict[str, int] = {}
        self._count = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    @property
    def bytes(self) -> int:
        return self._bytes

    def hold(self, host_id: str, message: HeldMessage) -> list[HeldMessage]:
        """Keep a message; returns the ones pushed out by the bounds (to reject)."""
        with self._lock:
            self._by_host.setdefault(host_id, deque()).append(message)
            self._bytes_by_host[host_id] = self._bytes_by_host.get(host_id, 0) + len(message.payload)
            self._count += 1
            self._bytes += len(message.payload)
            overflow = []
            while self._count > self.max_messages or self._bytes > self.max_bytes:
                overflow.append(self._pop(max(self._bytes_by_host, key=self._bytes_by_host.__getitem__)))
            return overflow

    def release(self, host_id: str) -> list[HeldMessage]:
        """The host's inventory has arrived: its held messages, oldest first."""
        with self._lock:
            messages = list(self._by_host.pop(host_id, ()))
            self._count -= len(messages)
            self._bytes -= self._bytes_by_host.pop(host_id, 0)
            return messages

    def expired(self, now: float | None = None) -> list[HeldMessage]:
        """Messages held longer than `max_wait_s` (to reject)."""
        now = time.monotonic() if now is None else now
        out: list[HeldMessage] = []
        with self._lock:
            for host_id in list(self._by_host):
                queue = self._by_host[host_id]
                while queue and now - queue[0].held_at > self.max_wait_s:
                    out.append(self._pop(host_id))
        return out

    def _pop(self, host_id: str) -> HeldMessage:
        """The host's oldest message, out of the counts. Called under the lock."""
        queue = self._by_host[host_id]
        message = queue.popleft()
        self._count -= 1
        self._bytes -= len(message.payload)
        self._bytes_by_host[host_id] -= len(message.payload)
        if not queue:
            del self._by_host[host_id], self._bytes_by_host[host_id]
        return message
