"""A deterministic train/val split.

Each key gets a pseudo-random rank from a hash of ``seed`` and the key, so
the split depends only on the keys and the seed: not on listing order, and an
image keeps its side when other images are added (as long as the val share
rounds the same way).
"""

from __future__ import annotations

import hashlib
import math
from typing import Sequence


def _rank(key: str, seed: int) -> bytes:
    return hashlib.sha1(f"{seed}:{key}".encode("utf-8")).digest()


def split_keys(keys: Sequence[str], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """(train, val) keys, each in the input order.

    With at least two keys and ``val_fraction > 0`` both sides get at least one key.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    keys = list(dict.fromkeys(keys))
    n = len(keys)
    n_val = 0
    if n >= 2 and val_fraction > 0:
        n_val = min(n - 1, max(1, int(math.floor(n * val_fraction + 0.5))))
    val = set(sorted(keys, key=lambda k: _rank(k, seed))[:n_val])
    return [k for k in keys if k not in val], [k for k in keys if k in val]
