"""Crash-recovery files: unsaved edits written aside between saves.

While an image has unsaved edits the app writes its annotation here every
few seconds (``<dir>/<hash>.npz``, naming the project folder and the image
key).  A save removes the file.  Files still present at the next start mean
segstudio ended without saving them; the app offers to put them back.
Qt-free (numpy only).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segstudio.core.annotation import Annotation, Instance
from segstudio.formats.atomic import atomic_write_bytes


@dataclass(frozen=True)
class RecoveryEntry:
    path: Path
    root: str
    key: str
    saved: float  # unix time


class RecoveryStore:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _file(self, root: str, key: str) -> Path:
        h = hashlib.sha1(f"{Path(root).resolve()}\n{key}".encode()).hexdigest()[:20]
        return self.folder / f"{h}.npz"

    def write(self, root: str | os.PathLike, key: str, doc: Annotation) -> Path:
        meta = {"root": str(Path(root).resolve()), "key": key, "saved": time.time(),
                "status": doc.status, "model": doc.model,
                "instances": [inst.to_json(k) for k, inst in sorted(doc.instances.items())]}
        buf = io.BytesIO()
        np.savez_compressed(buf, class_map=doc.class_map, instance_map=doc.instance_map,
                            user_mask=doc.user_mask, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._file(str(root), key)
        atomic_write_bytes(path, buf.getvalue())
        return path

    def discard(self, root: str | os.PathLike, key: str) -> None:
        try:
            self._file(str(root), key).unlink()
        except FileNotFoundError:
            pass

    def entries(self) -> list[RecoveryEntry]:
        found = []
        if not self.folder.is_dir():
            return found
        for p in sorted(self.folder.glob("*.npz")):
            try:
                with np.load(p) as z:
                    meta = json.loads(bytes(z["meta"]).decode())
                found.append(RecoveryEntry(p, meta["root"], meta["key"], float(meta["saved"])))
            except (OSError, ValueError, KeyError):
                continue  # unreadable: not offered
        return found

    @staticmethod
    def load(entry: RecoveryEntry) -> Annotation:
        with np.load(entry.path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            instances = {int(d["id"]): Instance(int(d["class_id"]), d.get("score"), d.get("source", "user"))
                         for d in meta["instances"]}
            return Annotation(z["class_map"], z["instance_map"], instances, z["user_mask"],
                              status=meta.get("status", "edited"), model=meta.get("model"))

    @staticmethod
    def remove(entry: RecoveryEntry) -> None:
        try:
            entry.path.unlink()
        except FileNotFoundError:
            pass
