"""The undo histories of the images edited in this session (Qt-free).

Switching images keeps the history of the image left behind, so coming back
restores its undo and redo.  A kept history is valid only for the annotation
it was recorded on: each one carries a token of the saved files (their size
and modification time) and is given back only if the files still match;
anything that rewrites them (a "predict all", another program) makes it stale.
All histories together, the open one included, stay within ``max_bytes``: the
least recently used are dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Hashable

from segstudio.core.history import DEFAULT_MAX_BYTES, History


class SessionHistories:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = int(max_bytes)
        self._kept: OrderedDict[Hashable, tuple[History, object]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._kept

    @property
    def nbytes(self) -> int:
        return sum(h.nbytes for h, _ in self._kept.values())

    def keep(self, key: Hashable, history: History, token: object, open_bytes: int = 0) -> None:
        """Keep ``history`` of an image being closed; ``token`` identifies its saved files."""
        history.end_step()
        self._kept.pop(key, None)
        if history.can_undo or history.can_redo:
            self._kept[key] = (history, token)
        self.trim(open_bytes)

    def take(self, key: Hashable, token: object) -> History | None:
        """The history kept for ``key`` if its files are still as they were, else None."""
        kept = self._kept.pop(key, None)
        if kept is None or kept[1] != token:
            return None
        return kept[0]

    def drop(self, key: Hashable) -> None:
        """Forget a history (its image was changed another way)."""
        self._kept.pop(key, None)

    def clear(self) -> None:
        self._kept.clear()

    def trim(self, open_bytes: int = 0) -> None:
        """Drop the least recently kept histories until all of them and the open one fit."""
        total = self.nbytes + int(open_bytes)
        while self._kept and total > self.max_bytes:
            _, (history, _) = self._kept.popitem(last=False)
            total -= history.nbytes
