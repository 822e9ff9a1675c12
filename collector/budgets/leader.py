"""Which collector evaluates budgets: exactly one of those online.

Every collector announces itself with a retained `online` on `<prefix>/collectors/<id>/status`
(its Last Will says `offline`) and reads everyone's. The collector with the smallest id
among those online is the evaluator; it starts evaluating once it has been so for
`settle_s`, so that a collector coming back takes over only after the others have seen it.
If the evaluator dies, the broker publishes its Last Will and the next one takes over.

A collector counts itself online once its own status comes back from the broker, not when it
starts: it publishes its `online` after subscribing to the retained budget alerts, so the broker
sends it back after them and by then the collector has read the states already announced, however
slowly it connected (a restarted evaluator that started its settling time at start-up once
announced a state again on a loaded machine).
"""

from __future__ import annotations

import threading
import time


class Leadership:
    def __init__(self, own_id: str, settle_s: float = 10.0) -> None:
        self.own_id = own_id
        self.settle_s = settle_s
        self._online: set[str] = set()
        self._since: float | None = None
        self._lock = threading.Lock()

    def update(self, collector_id: str, online: bool) -> None:
        """A collector's retained status was received (this collector's own `offline`, a Last Will of an
        earlier run, is not news)."""
        with self._lock:
            if online:
                self._online.add(collector_id)
            elif collector_id != self.own_id:
                self._online.discard(collector_id)
            first = self.own_id in self._online and min(self._online) == self.own_id
            if first and self._since is None:
                self._since = time.monotonic()
            elif not first:
                self._since = None

    def is_evaluator(self) -> bool:
        with self._lock:
            return self._since is not None and time.monotonic() - self._since >= self.settle_s

    def online(self) -> set[str]:
        with self._lock:
            return set(self._online)
