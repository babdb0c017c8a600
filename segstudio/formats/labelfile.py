"""Label files: UTF-8 text, one class per line in id order, optional #rrggbb colour."""

from __future__ import annotations

import os
from pathlib import Path

from segstudio.core.labels import LabelSet
from segstudio.errors import FormatError, LabelError, SegStudioError


def read_text(path: str | os.PathLike, what: str = "file", error: type[SegStudioError] = FormatError) -> str:
    """A UTF-8 text file (a BOM is dropped); a missing, unreadable or non-UTF-8 file raises
    ``error`` naming the file and what to do."""
    path = Path(path)
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save the {what} as UTF-8") from None
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror or e})") from None


def read_label_file(path: str | os.PathLike) -> LabelSet:
    text = read_text(path, "label file", LabelError)
    return LabelSet.from_text(text, source=str(path))
