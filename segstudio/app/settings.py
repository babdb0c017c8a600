"""Persistent settings (QSettings): last project, window layout, tool sizes, opacity, model choice.

``SEGSTUDIO_CONFIG_DIR`` moves the settings file and the crash-recovery
folder somewhere else (tests and benchmarks use it to stay isolated).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

DEFAULTS = {
    "last_path": "",
    "brush_radius": 8.0,
    "opacity": 0.55,
    "show_classes": True,
    "show_outlines": True,
    "show_uncertainty": False,
    "image_order": "name",
    "model": "lraspp_mobilenet_v3_large",
    "weights": "default",
    "crf": False,
    "score_threshold": 0.5,
    "autosave_seconds": 30,
    "sam_variant": "vit_b",     # Segment Anything model: vit_b, vit_l or vit_h
    "sam_weights": "default",   # "default" (downloaded once) or a checkpoint file
    "smart_tolerance": 0.6,
}


def config_dir() -> Path:
    env = os.environ.get("SEGSTUDIO_CONFIG_DIR")
    if env:
        return Path(env)
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppConfigLocation)
                or Path.home() / ".config" / "segstudio")


class Settings:
    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder else config_dir()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(self.folder / "segstudio.ini"), QSettings.Format.IniFormat)

    @property
    def recovery_dir(self) -> Path:
        return self.folder / "recovery"

    def get(self, key: str):
        default = DEFAULTS[key]
        value = self.qsettings.value(key, default)
        try:
            if isinstance(default, bool):
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            return type(default)(value)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value) -> None:
        if key not in DEFAULTS:
            raise KeyError(key)
        self.qsettings.setValue(key, value)

    def get_bytes(self, key: str) -> QByteArray | None:
        v = self.qsettings.value(key)
        return v if isinstance(v, QByteArray) else None

    def set_bytes(self, key: str, value: QByteArray) -> None:
        self.qsettings.setValue(key, value)

    def sync(self) -> None:
        self.qsettings.sync()
