"""Writing a whole dataset folder atomically, with progress and cancellation.

``StagedFolder`` builds the output in a hidden sibling folder
(``.<name>.segstudio-partial-<random>``) and renames it into place only when
everything has been written, so an interrupted export or import never leaves
a folder that looks complete.  An existing target is refused unless
``overwrite`` is true; it is then replaced only at the very end.

``Job`` reports progress to an optional ``progress(done, total, message)``
callback and raises ``Cancelled`` when the optional ``cancelled()`` callable
returns true; workers in the app and the CLI's progress bar both use it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

from segstudio.errors import Cancelled, SegStudioError

ProgressFn = Callable[[int, int, str], None]
CancelFn = Callable[[], bool]

PARTIAL_MARK = ".segstudio-partial-"


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

    def __init__(self, target: str | os.PathLike, overwrite: bool = False, what: str = "output"):
        self.target = Path(target)
        self.overwrite = overwrite
        self.what = what
        self.tmp: Path | None = None
        if self.target.exists():
            if not self.target.is_dir():
                raise SegStudioError(f"{self.target}: is a file; choose a folder for the {what}")
            if not overwrite and any(self.target.iterdir()):
                raise SegStudioError(f"{self.target}: already exists and is not empty; choose another "
                                     f"folder or allow overwriting it (--overwrite)")

    def __enter__(self) -> Path:
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.tmp = parent / f".{self.target.name}{PARTIAL_MARK}{uuid.uuid4().hex[:8]}"
            self.tmp.mkdir()
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
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def commit(self) -> None:
        assert self.tmp is not None
        old = None
        if self.target.exists():
            if not self.overwrite and any(self.target.iterdir()):
                raise SegStudioError(f"{self.target}: appeared while writing; nothing was replaced "
                                     "(the new data was discarded)")
            old = self.target.parent / f".{self.target.name}.segstudio-old-{uuid.uuid4().hex[:8]}"
            os.replace(self.target, old)
        try:
            os.replace(self.tmp, self.target)
        except OSError as e:
            if old is not None:
                os.replace(old, self.target)
            raise SegStudioError(f"{self.target}: could not be moved into place ({e.strerror or e})") from None
        self.tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
