"""The uncertainty ranking of a project: one small line per predicted image.

``annotations/prediction/index.jsonl`` holds, for each image whose prediction
memory was saved, the mean normalised entropy of that prediction (MONAI
Label's ranking score, ``PredictionMemory.mean_uncertainty()``), the model
that made it and when::

    {"key": "street/0001", "u": 0.4213, "model": "lraspp_mobilenet_v3_large@ft-…", "t": 1767000000,
     "s": "AAABAQEC…"}

so the image list orders a whole project by uncertainty from one small file,
without opening every ``.npz``.  ``s`` is the prediction's scene layout (the
most probable class on a 12×16 grid, ``core.batch_pick.layout``; 192 bytes as
base64): the "next to label" order picks one image per kind of scene from it.
Lines written before layouts were kept have no ``s``; those images are ranked
by ``u`` alone.  Each saved prediction *appends* a line (about 380 bytes; no
rewrite of the file per image, so "Predict all" stays linear); the last line
of a key wins.  When the file holds more than twice as many lines as keys
(plus 64) it is rewritten once, atomically, with one line per key, so it stays
within about 2 × 380 bytes per image: 76 MB for 100,000 images.  A line cut
short by a crash is skipped; a ranking that was lost is rebuilt by predicting
again.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from pathlib import Path

import numpy as np

from segstudio.core.batch_pick import LAYOUT as LAYOUT_SHAPE   # the shape of a stored scene layout

INDEX_NAME = "index.jsonl"


def index_path(prediction_dir: str | os.PathLike) -> Path:
    return Path(prediction_dir) / INDEX_NAME


def _encode(layout: np.ndarray | None) -> str | None:
    if layout is None:
        return None
    layout = np.ascontiguousarray(layout, np.uint8)
    if layout.shape != LAYOUT_SHAPE:
        raise ValueError(f"a scene layout is {LAYOUT_SHAPE}, got {layout.shape}")
    return base64.b64encode(layout.tobytes()).decode("ascii")


def _decode(text) -> np.ndarray | None:
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != LAYOUT_SHAPE[0] * LAYOUT_SHAPE[1]:
        return None
    return np.frombuffer(raw, np.uint8).reshape(LAYOUT_SHAPE)


def _line(key: str, u: float, model: str, t, layout: str | None) -> str:
    d = {"key": key, "u": u, "model": model, "t": t}
    if layout is not None:
        d["s"] = layout
    return json.dumps(d, ensure_ascii=False)


def append(prediction_dir: str | os.PathLike, key: str, mean_uncertainty: float, model: str = "",
           layout: np.ndarray | None = None) -> None:
    """Record an image's ranking score and scene layout (creates the file and folder when needed)."""
    path = index_path(prediction_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = _line(key, round(float(mean_uncertainty), 5), model, int(time.time()), _encode(layout))
    with open(path, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write(line + "\n")


def read(prediction_dir: str | os.PathLike, compact: bool = True) -> dict[str, dict]:
    """{key: {"u", "model", "t", "layout"}} (the last entry of each key; ``layout`` a uint8 12×16
    array, or None when the line has none or a damaged one); compacts an overgrown file."""
    path = index_path(prediction_dir)
    try:
        text = path.read_text("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return {}
    except OSError:
        return {}  # an unreadable ranking only costs the order: the images still open
    entries: dict[str, dict] = {}
    lines = 0
    for line in text.splitlines():
        lines += 1
        try:
            d = json.loads(line)
            key, u = d["key"], float(d["u"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash
        if isinstance(key, str) and 0.0 <= u <= 1.0:
            entries[key] = {"u": u, "model": str(d.get("model", "")), "t": d.get("t"),
                            "layout": _decode(d.get("s"))}
    if compact and lines > 2 * len(entries) + 64:
        _rewrite(path, entries)
    return entries


def _rewrite(path: Path, entries: dict[str, dict]) -> None:
    from segstudio.formats.atomic import atomic_write_bytes

    body = "".join(_line(k, v["u"], v.get("model", ""), v.get("t"), _encode(v.get("layout"))) + "\n"
                   for k, v in entries.items())
    try:
        atomic_write_bytes(path, body.encode("utf-8", "surrogateescape"))
    except OSError:
        pass  # compaction is an optimisation; the appended file still reads the same
