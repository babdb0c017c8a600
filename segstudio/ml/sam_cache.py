"""A bounded, thread-safe cache of image embeddings (least recently used goes first).

Workers put embeddings in, the GUI thread and other workers read them.  The
bound is in bytes, not entries: a SAM embedding is 4 MiB (256×64×64 float32)
whatever the image size, so the default keeps 16 of them.  Keys are any
hashable value; the app uses (project folder, image key, model ident).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable

DEFAULT_MAX_BYTES = 64 << 20


def _size(value: Any) -> int:
    n = getattr(value, "nbytes", None)
    return int(n) if n is not None else 0


class EmbeddingCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value``; older entries go until the total fits (the newest always stays)."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= _size(old)
            self._items[key] = value
            self._bytes += _size(value)
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= _size(dropped)

    def discard(self, predicate) -> None:
        """Drop the entries whose key satisfies ``predicate(key)``."""
        with self._lock:
            for key in [k for k in self._items if predicate(k)]:
                self._bytes -= _size(self._items.pop(key))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list:
        with self._lock:
            return list(self._items)
