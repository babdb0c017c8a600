"""Where the app's icons and sample images live (``resources/`` at the repository root)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "resources"


def icon_path(name: str) -> Path:
    return ROOT / "icons" / f"{name}.svg"


def samples_dir() -> Path:
    return ROOT / "samples"


@lru_cache(maxsize=None)
def icon(name: str):
    from PySide6.QtGui import QIcon
    p = icon_path(name)
    return QIcon(str(p)) if p.exists() else QIcon()
