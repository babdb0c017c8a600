"""Fixtures for the app tests: a folder of generated images and a window on it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest


def make_images(folder, n=3, w=64, h=48):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = np.full((h, w, 3), 40 + 30 * i, np.uint8)
        cv2.circle(img, (20 + 5 * i, 20), 10, tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
        cv2.rectangle(img, (40, 10), (60, 40), (200, 60, 30), -1)
        cv2.imwrite(str(folder / f"img{i}.png"), img)
    return folder


@pytest.fixture
def image_folder(tmp_path):
    return make_images(tmp_path / "images")


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    d = tmp_path / "config"
    monkeypatch.setenv("SEGSTUDIO_CONFIG_DIR", str(d))
    return d


@pytest.fixture
def make_window(qtbot, config_dir):
    from segstudio.app.settings import Settings
    from segstudio.app.window import MainWindow

    made = []

    def make(path=None, show=True):
        win = MainWindow(Settings(config_dir))
        qtbot.addWidget(win)
        win.resize(1000, 700)
        if show:
            win.show()
            qtbot.waitExposed(win)
            win.activateWindow()
            win.canvas.setFocus()
            qtbot.waitUntil(win.isActiveWindow, timeout=3000)
        if path is not None:
            assert win.open_path(path)
        made.append(win)
        return win

    yield make
    for win in made:
        win.predictor.shutdown()


@pytest.fixture
def window(make_window, image_folder):
    return make_window(image_folder)


def set_view(canvas, scale=4.0, ox=0.0, oy=0.0):
    """A known zoom and offset so widget positions map to known image pixels."""
    from PySide6.QtCore import QPointF
    canvas._set_view(scale, QPointF(ox, oy))
