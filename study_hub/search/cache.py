"""A bounded, thread-safe LRU: the answer caches of a served generation and the query-vector cache."""

from __future__ import annotations

import threading
from collections import OrderedDict


class Lru:
    """Keeps the ``size`` most recently used values (``size`` 0: keeps nothing)."""

    def __init__(self, size: int):
        self.size = size
        self._kept: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._kept.get(key)
            if value is not None:
                self._kept.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        if not self.size:
            return
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
