"""Label files: UTF-8 text, one class per line in id order, optional #rrggbb colour."""

from __future__ import annotations

import os
from pathlib import Path

from segstudio.core.labels import LabelSet
from segstudio.errors import LabelError
from segstudio.formats.atomic import atomic_write_text


def read_label_file(path: str | os.PathLike) -> LabelSet:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise LabelError(f"{path}: label file not found") from None
    except UnicodeDecodeError:
        raise LabelError(f"{path}: not UTF-8 text; save the label file as UTF-8") from None
    except OSError as e:
        raise LabelError(f"{path}: cannot be read ({e.strerror or e})") from None
    return LabelSet.from_text(text, source=str(path))


def write_label_file(path: str | os.PathLike, labels: LabelSet) -> None:
    atomic_write_text(path, labels.to_text())
