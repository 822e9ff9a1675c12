"""Reports that arrived before their host's inventory, held (unacknowledged) until it comes.

After a collector restart the broker delivers the reports queued in its session at once,
before the retained inventories that the new subscription brings: rejecting them would
lose them. They wait here, bounded in number and time; past either bound the oldest are
rejected as `no_inventory`.
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

    def __init__(self, max_messages: int, max_wait_s: float) -> None:
        self.max_messages = max_messages
        self.max_wait_s = max_wait_s
        self._by_host: OrderedDict[str, deque[HeldMessage]] = OrderedDict()
        self._count = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    def hold(self, host_id: str, message: HeldMessage) -> list[HeldMessage]:
        """Keep a message; returns the oldest ones pushed out by the bound (to reject)."""
        with self._lock:
            self._by_host.setdefault(host_id, deque()).append(message)
            self._count += 1
            overflow = []
            while self._count > self.max_messages:
                overflow.append(self._pop_oldest())
            return overflow

    def release(self, host_id: str) -> list[HeldMessage]:
        """The host's inventory has arrived: its held messages, oldest first."""
        with self._lock:
            messages = list(self._by_host.pop(host_id, ()))
            self._count -= len(messages)
            return messages

    def expired(self, now: float | None = None) -> list[HeldMessage]:
        """Messages held longer than `max_wait_s` (to reject)."""
        now = time.monotonic() if now is None else now
        out: list[HeldMessage] = []
        with self._lock:
            for host_id in list(self._by_host):
                queue = self._by_host[host_id]
                while queue and now - queue[0].held_at > self.max_wait_s:
                    out.append(queue.popleft())
                    self._count -= 1
                if not queue:
                    del self._by_host[host_id]
        return out

    def _pop_oldest(self) -> HeldMessage:
        host_id, queue = min(self._by_host.items(), key=lambda item: item[1][0].held_at)
        message = queue.popleft()
        if not queue:
            del self._by_host[host_id]
        self._count -= 1
        return message
