"""Loaded models kept for the next prediction: ``MODEL_CACHE.get(model, weights)``.

The app predicts image after image with the same model; loading it each time
(building the architecture, reading the checkpoint) would cost a second or more.
The cache keeps the last ``capacity`` models by (model, weights, labels asked
for); a checkpoint file is identified by its absolute path *and* modification
time and size, so a file rewritten by a fine-tuning run (same path, new
weights) is a new entry.  Thread-safe: workers of the app call it; two threads
asking for the same model at once load it once.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

from segstudio.ml.download import Progress


def weights_key(weights: Any) -> Any:
    """What identifies ``weights``: "default" / "none", or (absolute path, mtime, size) of a file."""
    if weights is None:
        return "none"
    w = str(weights)
    if w in ("default", "none"):
        return w
    path = os.path.abspath(os.path.expanduser(w))
    try:
        st = os.stat(path)
    except OSError:
        return (path, None, None)  # load_model reports the missing file
    return (path, st.st_mtime_ns, st.st_size)


def expand_weights(weights: Any) -> str:
    w = "none" if weights is None else str(weights)
    return w if w in ("default", "none") else os.path.expanduser(w)


class ModelCache:
    def __init__(self, capacity: int = 1):
        self.capacity = max(1, int(capacity))
        self._lock = threading.Lock()
        self._loading: dict[tuple, threading.Lock] = {}
        self._models: "OrderedDict[tuple, Any]" = OrderedDict()

    def key(self, model: str | None, weights: Any, labels=None) -> tuple:
        return (model, weights_key(weights), None if labels is None else tuple(labels.names))

    def cached(self, model: str | None, weights: Any, labels=None):
        """The loaded model if it is in the cache, else None (never loads)."""
        with self._lock:
            return self._models.get(self.key(model, weights, labels))

    def get(self, model: str | None, weights: Any = "default", labels=None, progress: Progress | None = None):
        """The ``LoadedModel`` for (model, weights[, labels]); loads it on a miss."""
        from segstudio.ml.weights import load_model

        key = self.key(model, weights, labels)
        with self._lock:
            hit = self._models.get(key)
            if hit is not None:
                self._models.move_to_end(key)
                return hit
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:  # one load per key; others wait for it
            with self._lock:
                hit = self._models.get(key)
            if hit is not None:
                return hit
            loaded = load_model(model, weights=expand_weights(weights), labels=labels, progress=progress)
            with self._lock:
                self._models[key] = loaded
                self._models.move_to_end(key)
                while len(self._models) > self.capacity:
                    self._models.popitem(last=False)
                self._loading.pop(key, None)
            return loaded

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

    def __len__(self) -> int:
        return len(self._models)


MODEL_CACHE = ModelCache(capacity=1)
