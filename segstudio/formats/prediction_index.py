"""The uncertainty ranking of a project: one small line per predicted image.

``annotations/prediction/index.jsonl`` holds, for each image whose prediction
memory was saved, the mean normalised entropy of that prediction (MONAI
Label's ranking score, ``PredictionMemory.mean_uncertainty()``), the model
that made it and when::

    {"key": "street/0001", "u": 0.4213, "model": "lraspp_mobilenet_v3_large@ft-…", "t": 1767000000}

so the image list orders a whole project by uncertainty from one small file,
without opening every ``.npz``.  Each saved prediction *appends* a line (about
120 bytes; no rewrite of the file per image, so "Predict all" stays linear);
the last line of a key wins.  When the file holds more than twice as many lines
as keys (plus 64) it is rewritten once, atomically, with one line per key, so
it stays within about 2 × 120 bytes per image: 24 MB for 100,000 images.  A
line cut short by a crash is skipped; a ranking that was lost is rebuilt by
predicting again.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

INDEX_NAME = "index.jsonl"


def index_path(prediction_dir: str | os.PathLike) -> Path:
    return Path(prediction_dir) / INDEX_NAME


def append(prediction_dir: str | os.PathLike, key: str, mean_uncertainty: float, model: str = "") -> None:
    """Record an image's ranking score (creates the file and folder when needed)."""
    path = index_path(prediction_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"key": key, "u": round(float(mean_uncertainty), 5), "model": model,
                       "t": int(time.time())}, ensure_ascii=False)
    with open(path, "a", encoding="utf-8", errors="surrogateescape") as f:
        f.write(line + "\n")


def read(prediction_dir: str | os.PathLike, compact: bool = True) -> dict[str, dict]:
    """{key: {"u", "model", "t"}} (the last entry of each key); compacts an overgrown file."""
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
            entries[key] = {"u": u, "model": str(d.get("model", "")), "t": d.get("t")}
    if compact and lines > 2 * len(entries) + 64:
        _rewrite(path, entries)
    return entries


def _rewrite(path: Path, entries: dict[str, dict]) -> None:
    from segstudio.formats.atomic import atomic_write_bytes

    body = "".join(json.dumps({"key": k, "u": v["u"], "model": v.get("model", ""), "t": v.get("t")},
                              ensure_ascii=False) + "\n" for k, v in entries.items())
    try:
        atomic_write_bytes(path, body.encode("utf-8", "surrogateescape"))
    except OSError:
        pass  # compaction is an optimisation; the appended file still reads the same
