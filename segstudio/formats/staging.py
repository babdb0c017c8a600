"""Writing a whole dataset folder atomically, with progress and cancellation.

``StagedFolder`` builds the output in a hidden sibling folder
(``.<name>.segstudio-partial-<random>``) and renames it into place only when
everything has been written, so an interrupted export or import never leaves
a folder that looks complete.  An existing target is refused unless
``overwrite`` is true; it is then replaced only at the very end.

A partial folder has an owner file beside it (``<partial>.owner``: host and
process id).  A process that was killed leaves its partial folder behind;
the next run for the same target removes the ones whose process is gone
(``clean_stale``), and those of older versions without an owner file once
they are a day old.

``Job`` reports progress to an optional ``progress(done, total, message)``
callback and raises ``Cancelled`` when the optional ``cancelled()`` callable
returns true; workers in the app and the CLI's progress bar both use it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Callable

from segstudio.errors import Cancelled, SegStudioError

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]

PARTIAL_MARK = ".segstudio-partial-"
OLD_MARK = ".segstudio-old-"
OWNER_SUFFIX = ".owner"
UNOWNED_STALE_S = 24 * 3600


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _is_stale(folder: Path) -> bool:
    owner = folder.with_name(folder.name + OWNER_SUFFIX)
    try:
        info = json.loads(owner.read_text("utf-8"))
        host, pid = info["host"], int(info["pid"])
    except FileNotFoundError:
        try:
            return time.time() - folder.stat().st_mtime > UNOWNED_STALE_S
        except OSError:
            return False
    except (OSError, ValueError, KeyError, TypeError):
        return False  # unreadable: not ours to judge
    return host == socket.gethostname() and not _alive(pid)


def clean_stale(parent: Path, name: str) -> list[Path]:
    """Remove the partial folders of ``parent/name`` left by killed runs; returns them.

    (A ``.segstudio-old-`` folder that a killed ``--overwrite`` left holds the replaced dataset and is kept.)
    """
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(f".{name}{PARTIAL_MARK}") or \
                entry.name.endswith(OWNER_SUFFIX) or not entry.is_dir() or entry.is_symlink():
            continue
        if _is_stale(entry):
            shutil.rmtree(entry, ignore_errors=True)
            entry.with_name(entry.name + OWNER_SUFFIX).unlink(missing_ok=True)
            removed.append(entry)
    for owner in parent.glob(f".{name}{PARTIAL_MARK}*{OWNER_SUFFIX}"):  # owners whose folder is gone
        if not owner.with_name(owner.name[:-len(OWNER_SUFFIX)]).exists():
            owner.unlink(missing_ok=True)
    return removed


def make_partial(parent: Path, name: str) -> Path:
    """A new hidden partial folder for ``parent/name`` with its owner file."""
    tmp = parent / f".{name}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        tmp.with_name(tmp.name + OWNER_SUFFIX).write_text(
            json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}), "utf-8")
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def remove_partial(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.with_name(tmp.name + OWNER_SUFFIX).unlink(missing_ok=True)


class Job:
    def __init__(self, total: int, progress: ProgressFn | None = None, cancelled: CancelFn | None = None):
        self.total = int(total)
        self.done = 0
        self._progress = progress
        self._cancelled = cancelled

    def check(self) -> None:
        if self._cancelled is not None and self._cancelled():
            raise Cancelled("cancelled; nothing was written")

    def step(self, message: str = "") -> None:
        """One unit done: report it, then stop here if cancellation was requested."""
        self.done += 1
        if self._progress is not None:
            self._progress(self.done, self.total, message)
        self.check()


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_disjoint(out: Path, *sources: Path, what: str = "output") -> None:
    """Refuse an output folder that is, contains, or lies inside one of the source folders."""
    for src in sources:
        if src is None:
            continue
        if _is_within(out, src) or _is_within(src, out):
            raise SegStudioError(f"{out}: the {what} folder overlaps {src}; choose a folder outside it")


class StagedFolder:
    """Build a folder under a temporary name, then move it into place.

    Use as a context manager: ``with StagedFolder(out, overwrite) as tmp: ...``;
    leaving the block normally commits, an exception removes the partial folder.
    """

    def __init__(self, target: str | os.PathLike, overwrite: bool = False, what: str = "output",
                 can_overwrite: bool = True):
        """``can_overwrite``: whether the caller offers replacing a non-empty target (--overwrite);
        the refusal only suggests it then."""
        self.target = Path(target)
        self.overwrite = overwrite
        self.what = what
        self.tmp: Path | None = None
        self.cleaned: list[Path] = []
        if self.target.exists():
            if not self.target.is_dir():
                raise SegStudioError(f"{self.target}: is a file; choose a folder for the {what}")
            if not overwrite and any(self.target.iterdir()):
                hint = ("choose another folder or allow overwriting it (--overwrite)" if can_overwrite
                        else f"choose a new or empty folder for the {what}")
                raise SegStudioError(f"{self.target}: already exists and is not empty; {hint}")

    def __enter__(self) -> Path:
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.cleaned = clean_stale(parent, self.target.name)
            self.tmp = make_partial(parent, self.target.name)
        except OSError as e:
            raise SegStudioError(f"{parent}: cannot create the {self.what} folder here "
                                 f"({e.strerror or e}); check the path and write permission") from None
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.commit()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self.tmp is not None:
            remove_partial(self.tmp)
            self.tmp = None

    def commit(self) -> None:
        assert self.tmp is not None
        old = None
        if self.target.exists():
            if not self.overwrite and any(self.target.iterdir()):
                raise SegStudioError(f"{self.target}: appeared while writing; nothing was replaced "
                                     "(the new data was discarded)")
            old = self.target.parent / f".{self.target.name}{OLD_MARK}{uuid.uuid4().hex[:8]}"
            os.replace(self.target, old)
        try:
            os.replace(self.tmp, self.target)
        except OSError as e:
            if old is not None:
                os.replace(old, self.target)
            raise SegStudioError(f"{self.target}: could not be moved into place ({e.strerror or e})") from None
        self.tmp.with_name(self.tmp.name + OWNER_SUFFIX).unlink(missing_ok=True)
        self.tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
