"""Crash-safe writes.

``atomic_write_bytes`` writes a temporary file in the target's folder, flushes
and fsyncs it, then ``os.replace``s it over the target: readers see the old
file or the new one, never a half-written one.

``Transaction`` does the same for several files that must change together
(an annotation's class map, instance map and table).  All new contents are
written to temporary files first; then a journal listing the renames is
written atomically (the commit point); then the renames run and the journal
is removed.  ``recover`` rolls a committed journal forward and deletes the
temporary files of a transaction that never committed, so after a crash the
files are either all old or all new.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

TMP_SUFFIX = ".segstudio-tmp"
JOURNAL_PREFIX = ".segstudio-journal-"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_temp(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}{TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    tmp = _write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def json_bytes(obj) -> bytes:
    """UTF-8 JSON, readable as text; \\u escapes only where a string is not valid Unicode
    (a file name that is not UTF-8 on disk)."""
    try:
        return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(obj, indent=2, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_bytes(path, json_bytes(obj))


class Transaction:
    """Replace several files together; see the module docstring."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._pending: list[tuple[Path, Path]] = []
        self._journal: Path | None = None  # set once committed: from then on the new files win

    def write(self, path: str | os.PathLike, data: bytes) -> None:
        path = Path(path)
        self._pending.append((_write_temp(path, data), path))

    def commit(self) -> None:
        if not self._pending:
            return
        for tmp, _ in self._pending:
            _fsync_dir(tmp.parent)
        entries = [[os.path.relpath(tmp, self.root), os.path.relpath(dst, self.root)] for tmp, dst in self._pending]
        journal = self.root / f"{JOURNAL_PREFIX}{uuid.uuid4().hex[:12]}.json"
        atomic_write_bytes(journal, json_bytes({"renames": entries}))
        self._journal = journal
        # if a rename fails from here on, the journal stays and ``recover`` finishes it
        _roll_forward(self.root, entries)
        journal.unlink()
        _fsync_dir(self.root)
        self._pending.clear()

    def abort(self) -> None:
        """Drop an uncommitted transaction; a committed one is left for ``recover`` to finish."""
        if self._journal is None:
            for tmp, _ in self._pending:
                tmp.unlink(missing_ok=True)
        self._pending.clear()

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _roll_forward(root: Path, entries) -> None:
    folders = set()
    for tmp_rel, dst_rel in entries:
        tmp, dst = root / tmp_rel, root / dst_rel
        if tmp.exists():
            os.replace(tmp, dst)
            folders.add(dst.parent)
    for folder in folders:
        _fsync_dir(folder)


def recover(root: str | os.PathLike) -> int:
    """Finish committed transactions under ``root`` and remove abandoned temporary files.

    Returns the number of transactions rolled forward.
    """
    root = Path(root)
    if not root.is_dir():
        return 0
    done = 0
    for journal in sorted(root.glob(f"{JOURNAL_PREFIX}*.json")):
        try:
            entries = json.loads(journal.read_text("utf-8"))["renames"]
        except (OSError, ValueError, KeyError):
            # a journal is written atomically, so an unreadable one was never committed
            journal.unlink(missing_ok=True)
            continue
        _roll_forward(root, entries)
        journal.unlink(missing_ok=True)
        done += 1
    for tmp in root.rglob(f"*{TMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)
    return done
