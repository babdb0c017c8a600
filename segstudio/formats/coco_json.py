"""Streaming writer for COCO-style JSON files.

The ``images`` and ``annotations`` arrays are written item by item to
temporary files and joined at the end, so an export's memory does not grow
with the number of images.  Text is written ASCII-escaped, so any JSON reader
gets non-ASCII file names right whatever its default encoding.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


class JsonArray:
    def __init__(self, path: Path):
        self.path = path
        self._f = open(path, "w", encoding="ascii")
        self.count = 0

    def add(self, item: dict) -> None:
        self._f.write((",\n" if self.count else "") + json.dumps(item, ensure_ascii=True, allow_nan=False))
        self.count += 1

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()


class CocoJsonWriter:
    """``head`` (info, categories...) + streamed arrays named in ``arrays``."""

    def __init__(self, path: Path, head: dict, arrays: tuple[str, ...] = ("images", "annotations")):
        self.path = path
        self.head = head
        self.arrays = {name: JsonArray(path.with_name(f".{path.name}.{name}.part")) for name in arrays}

    def add(self, array: str, item: dict) -> None:
        self.arrays[array].add(item)

    def abandon(self) -> None:
        """Close the part files without writing the JSON (after an error; the folder is discarded)."""
        for a in self.arrays.values():
            a.close()

    def close(self) -> None:
        for a in self.arrays.values():
            a.close()
        with open(self.path, "w", encoding="ascii") as out:
            head = json.dumps(self.head, ensure_ascii=True, allow_nan=False)
            out.write(head[:-1] + (", " if self.head else ""))
            for i, (name, a) in enumerate(self.arrays.items()):
                out.write(("" if i == 0 else ",\n") + json.dumps(name) + ": [\n")
                with open(a.path, "r", encoding="ascii") as f:
                    shutil.copyfileobj(f, out)
                out.write("\n]")
            out.write("}\n")
        for a in self.arrays.values():
            a.path.unlink()
