"""Label files: UTF-8 text, one class per line in id order, optional #rrggbb colour."""

from __future__ import annotations

import os
from pathlib import Path

from segstudio.core.labels import LabelSet
from segstudio.errors import FormatError, LabelError, SegStudioError
from segstudio.formats.fileaccess import file_problem, os_error_text


def read_text(path: str | os.PathLike, what: str = "file", error: type[SegStudioError] = FormatError) -> str:
    """A UTF-8 text file (a BOM is dropped); a missing, unreadable or non-UTF-8 file raises
    ``error`` naming the file and what to do."""
    path = Path(path)
    problem = file_problem(path, what)
    if problem is not None:
        raise error(f"{path}: {problem}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise error(f"{path}: cannot be read ({os_error_text(e)})") from None
    except MemoryError:
        raise error(f"{path}: too large to read into memory as a {what}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save the {what} as UTF-8") from None


def read_label_file(path: str | os.PathLike) -> LabelSet:
    text = read_text(path, "label file", LabelError)
    return LabelSet.from_text(text, source=str(path))
