"""Where the app's icons and sample images live: ``resources/``, found by ``segstudio.assets``
(packaged with an installed segstudio, or at the top of a source checkout)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from segstudio.assets import asset_dir


def resources_dir() -> Path | None:
    return asset_dir("resources")


def icon_path(name: str) -> Path | None:
    root = resources_dir()
    return None if root is None else root / "icons" / f"{name}.svg"


def samples_dir() -> Path | None:
    root = resources_dir()
    return None if root is None else root / "samples"


@lru_cache(maxsize=None)
def icon(name: str):
    from PySide6.QtGui import QIcon
    p = icon_path(name)
    return QIcon(str(p)) if p is not None and p.exists() else QIcon()
