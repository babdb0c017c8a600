"""Take the README screenshots (run under a display, e.g. ``xvfb-run -s "-screen 0 1400x900x24"``).

    python docs/make_screenshots.py OUT_DIR

(a) the sample folder with a prediction overlaid (an untrained ``weights=none``
model unless published weights are cached), (b) instance outlines while
painting.  Uses a throw-away settings folder.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SEGSTUDIO_CONFIG_DIR", tempfile.mkdtemp())

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from segstudio.app.main import sample_project  # noqa: E402
from segstudio.app.settings import Settings  # noqa: E402
from segstudio.app.window import MainWindow  # noqa: E402
from segstudio.core.edits import create_instance, disc_segment_mask, paint_segment  # noqa: E402


def wait(ms):
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])  # noqa: F841  (must exist while the window lives)
    settings = Settings()
    win = MainWindow(settings)
    win.resize(1360, 860)
    win.show()
    win.open_path(sample_project(settings))
    win.open_key("road")
    weights = os.environ.get("SHOT_WEIGHTS", "none")
    model = os.environ.get("SHOT_MODEL", "deeplabv3_mobilenet_v3_large")
    win.model.model_box.setCurrentIndex(win.model.model_box.findData(model))
    win.model.weights_box.setEditText(weights)
    done = []
    win.predictor.finished.connect(done.append)
    win.predictor.predict_this()
    while not done:
        wait(100)
    wait(300)
    win.grab().save(str(out / "a_prediction.png"))
    # (b) instances while painting (on an image without the untrained prediction)
    win.open_key("yard")
    editor = win.document.editor
    doc = editor.doc
    rgb = win.document.image.astype(int)
    labels = win.document.project.labels

    def colour_mask(x0, y0, x1, y1):
        """Pixels of the box whose colour is close to the box's centre colour."""
        crop = rgb[y0:y1, x0:x1]
        centre = crop[crop.shape[0] // 2, crop.shape[1] // 2]
        return np.abs(crop - centre).sum(axis=2) < 60

    for name, box in (("car", (270, 272, 395, 330)), ("sofa", (80, 314, 192, 390)),
                      ("chair", (308, 336, 376, 408))):
        patch, k = create_instance(doc, labels.id_of(name), colour_mask(*box), (box[1], box[0]))
        editor.push(patch, "new instance")
    # a person instance half painted with the brush, pointer still on it
    patch, k = create_instance(doc, labels.id_of("person"), *disc_segment_mask((480, 268), (480, 268), 10))
    editor.push(patch, "new instance")
    win.state.pick("instance", k)
    win.set_tool("add_instance")
    win.state.radius = 10
    editor.begin("add")
    for i in range(4):
        editor.apply(paint_segment(doc, (480 + 2 * i, 268 + 6 * i), (482 + 2 * i, 274 + 6 * i), 10, instance_id=k))
    editor.end()
    # void where the hill meets the sky ("don't know")
    editor.push(paint_segment(doc, (120, 240), (230, 246), 7, class_id=255), "void")
    win.canvas.zoom_at(1.35, win.canvas._to_widget((330, 300)))
    win.canvas._hover = win.canvas._to_widget((488, 292))
    win.canvas.update()
    wait(300)
    win.grab().save(str(out / "b_instances.png"))
    win.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shots"))
