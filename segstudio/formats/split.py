"""A deterministic train/val split of image keys.

Each key is ranked by a hash of the seed and the key, and the first
``round(n * val_fraction)`` keys go to val.  The split depends only on the
set of keys, the fraction and the seed (not on their order), and adding an
image moves at most a few others between the sets.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

from segstudio.errors import SegStudioError


def _rank(seed: int, key: str) -> bytes:
    # surrogateescape: a file name that is not UTF-8 on disk ranks by its bytes
    return hashlib.sha1(f"{seed}\0{key}".encode("utf-8", "surrogateescape")).digest()


def split_keys(keys: Iterable[str], val_fraction: float = 0.2, seed: int = 0,
               fixed: dict | None = None) -> tuple[list[str], list[str]]:
    """(train, val), each sorted.  ``val_fraction`` is in [0, 1].

    ``fixed`` (``{"train": [...], "val": [...]}``, e.g. the split an imported
    dataset came with, kept in the project settings) pins those keys to their
    set; only the other keys are split by fraction and seed.
    """
    try:
        val_fraction = float(val_fraction)
    except (TypeError, ValueError):
        raise SegStudioError(f"the validation fraction must be a number in 0..1, got {val_fraction!r}") from None
    if not 0.0 <= val_fraction <= 1.0:
        raise SegStudioError(f"the validation fraction must be in 0..1, got {val_fraction}")
    keys = sorted(set(keys))
    if fixed:
        pinned_val = set(fixed.get("val") or ()) & set(keys)
        pinned_train = (set(fixed.get("train") or ()) & set(keys)) - pinned_val
        rest = [k for k in keys if k not in pinned_val and k not in pinned_train]
        train, val = split_keys(rest, val_fraction, seed) if rest else ([], [])
        return sorted(pinned_train | set(train)), sorted(pinned_val | set(val))
    n_val = int(round(len(keys) * val_fraction))
    if val_fraction > 0 and n_val == 0 and len(keys) >= 2:
        n_val = 1  # a non-zero fraction of a small set still gets one val image
    if val_fraction < 1 and n_val == len(keys) and len(keys) >= 2:
        n_val = len(keys) - 1
    ranked = sorted(keys, key=lambda k: _rank(int(seed), k))
    val = sorted(ranked[:n_val])
    train = sorted(ranked[n_val:])
    return train, val
