"""The Train panel and its worker: a tiny real training job in the background."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from segstudio.app.panels.loss_curve import SMOOTH_COLOR, LossCurve
from segstudio.app.panels.train_panel import TrainPanel
from segstudio.app.train import TrainController
from tests.ml.training_data import make_mask_folders


class PaintPad(QWidget):
    """A plain widget a user paints on: strokes go into an image, painted on screen."""

    def __init__(self):
        super().__init__()
        self.resize(120, 120)
        self.image = QImage(120, 120, QImage.Format.Format_RGB32)
        self.image.fill(QColor("white"))
        self.last = None
        self.paints = 0
        self.busy_paints = 0      # paint events handled while training ran
        self.is_training = lambda: False

    def mousePressEvent(self, e):
        self.last = e.position().toPoint()

    def mouseMoveEvent(self, e):
        p = QPainter(self.image)
        p.setPen(QPen(QColor("red"), 3))
        p.drawLine(self.last, e.position().toPoint())
        p.end()
        self.last = e.position().toPoint()
        self.update()

    def paintEvent(self, e):
        self.paints += 1
        if self.is_training():
            self.busy_paints += 1
        p = QPainter(self)
        p.drawImage(0, 0, self.image)
        p.end()


def _controller(qtbot):
    panel = TrainPanel()
    qtbot.addWidget(panel)
    return panel, TrainController(panel)


def _panel(qtbot, tmp_path, epochs):
    images, masks, labels = make_mask_folders(tmp_path / "data", n=6, size=64)
    panel, ctl = _controller(qtbot)
    panel.set_project(None)
    panel.data_path.setText(str(images))
    panel.masks_path.setText(str(masks))
    panel.labels_path.setText(str(labels))
    panel.void_ids.setText("3")
    panel.model.setCurrentText("lraspp_mobilenet_v3_large")
    panel.weights.setCurrentText("none")
    panel.epochs.setValue(epochs)
    panel.auto_size.setChecked(False)
    panel.batch.setValue(2)
    panel.crop.setValue(48)
    panel.out_path.setText(str(tmp_path / "run"))
    return panel, ctl


def test_training_runs_in_the_background_while_the_user_paints(qtbot, tmp_path):
    from segstudio.ml.weights import load_model

    panel, ctl = _panel(qtbot, tmp_path, epochs=2)
    pad = PaintPad()
    qtbot.addWidget(pad)
    pad.show()
    pad.is_training = ctl.is_running
    published = []
    ctl.checkpoint_published.connect(lambda path, version: published.append((path, version)))
    strokes = 0
    with qtbot.waitSignal(ctl.training_finished, timeout=120_000) as finished:
        assert ctl.start({"device": "cpu", "lr": 0.02, "seed": 0})
        assert not panel.start_button.isEnabled() and panel.cancel_button.isEnabled()
        while ctl.is_running():
            y = 10 + (strokes * 7) % 100
            qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(5, y))
            qtbot.mouseMove(pad, QPoint(110, y))
            qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(110, y))
            qtbot.wait(15)
            strokes += 1
    assert finished.args == ["done"], ctl.last_error
    # in a child process, so neither the GIL nor the CRF fit can stall the GUI
    import os
    assert ctl.worker.mode == "process" and ctl.worker.pid not in (None, os.getpid())
    # the UI kept handling input and repainting while the job ran
    assert strokes > 0 and pad.busy_paints > 0
    assert pad.image.pixelColor(60, 10) == QColor("red")
    # results reached the panel: curve, metrics table, published checkpoint usable by the predictor
    assert len(panel.curve.points) == 4                   # 5 train images / batch 2 (full batches) × 2 epochs
    assert panel.table.rowCount() >= 1 and panel.table.item(0, 0).text() == "background"
    assert "mIoU" in panel.score_label.text()
    assert published and published[-1][0].endswith("best.pt")
    loaded = load_model(None, weights=published[-1][0])
    assert loaded.version == published[-1][1]
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_cancel_stops_the_job_and_keeps_a_resume_checkpoint(qtbot, tmp_path):
    panel, ctl = _panel(qtbot, tmp_path, epochs=200)
    seen = []

    def on_progress(info):
        seen.append(info.iteration)
        if len(seen) == 1:
            panel.cancel_button.click()

    with qtbot.waitSignal(ctl.training_finished, timeout=120_000) as finished:
        assert ctl.start({"device": "cpu"})
        ctl.worker.progress.connect(on_progress)
    assert finished.args == ["cancelled"]
    result = ctl.worker.result
    assert result.cancelled and result.iterations < 20 and (tmp_path / "run" / "last.pt").exists()
    assert "cancelled" in panel.status_text()


def test_bad_form_input_is_reported_not_raised(qtbot, tmp_path):
    panel, ctl = _controller(qtbot)
    errors = []
    ctl.error.connect(errors.append)
    panel.set_project(None)
    assert not ctl.start()
    assert "choose the data" in ctl.last_error and errors == [ctl.last_error]
    panel.data_path.setText(str(tmp_path / "missing"))
    with qtbot.waitSignal(ctl.training_finished, timeout=30_000) as finished:
        assert ctl.start({"device": "cpu"})
    assert finished.args == ["failed"] and "not found" in ctl.last_error
    assert panel.start_button.isEnabled()


def test_loss_curve_draws_the_points(qtbot):
    curve = LossCurve()
    qtbot.addWidget(curve)
    curve.resize(300, 160)
    for i in range(1, 60):
        curve.add(i, 2.0 / i ** 0.5)
    curve.mark_epoch(30)
    image = curve.grab().toImage()
    blue = sum(1 for x in range(0, 300, 2) for y in range(0, 160, 2)
               if image.pixelColor(x, y).blue() > 150 and image.pixelColor(x, y).red() < 90)
    assert blue > 20
    r = curve.plot_rect()
    # high loss at the left, low at the right: the smoothed line starts high
    left = [y for y in range(int(r.top()), int(r.bottom())) if image.pixelColor(int(r.left()) + 2, y) == SMOOTH_COLOR]
    right = [y for y in range(int(r.top()), int(r.bottom())) if image.pixelColor(int(r.right()) - 2, y) == SMOOTH_COLOR]
    assert left and right and min(left) < min(right)
    for i in range(5000):
        curve.add(60 + i, 0.1)
    assert len(curve.points) <= curve.max_points


def test_per_class_table_rows_are_named_by_class_id(qtbot):
    from segstudio.ml.training.hooks import EpochInfo
    panel = TrainPanel()
    qtbot.addWidget(panel)
    per_class = [{"id": 0, "name": "Sky", "iou": 0.9, "accuracy": 0.95},
                 {"id": 1, "name": "Building", "iou": None, "accuracy": None},   # not in val: not listed
                 {"id": 2, "name": "Pole", "iou": 0.1, "accuracy": 0.2}]
    panel.show_epoch(EpochInfo(epoch=0, iteration=10, metrics={"per_class": per_class, "miou": 0.5,
                                                                "pixel_accuracy": 0.9}, score=0.5, best=True))
    ids = [panel.table.verticalHeaderItem(r).text() for r in range(panel.table.rowCount())]
    names = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert ids == ["0", "2"] and names == ["Sky", "Pole"]


def test_browse_buttons_follow_their_fields_and_lock_during_a_run(qtbot):
    from PySide6.QtWidgets import QToolButton

    panel, _ = _controller(qtbot)
    every = [b for b in panel.findChildren(QToolButton) if b.text() == "…"]
    buttons = [b for b in every if not panel.loss_options.isAncestorOf(b)]
    assert len(buttons) == 5                     # data, masks, labels, weights, output
    panel.set_project(None)                      # a folder: every path can be browsed
    assert all(b.isEnabled() for b in buttons)
    panel.set_running(True)                      # a run holds the form: nothing to browse
    assert not any(b.isEnabled() for b in every)  # (the class-weights file's too)
    panel.set_running(False)
    assert all(b.isEnabled() for b in buttons)
    panel.set_project("/some/project")           # the project is the data: its three paths are off
    assert sum(b.isEnabled() for b in buttons) == 2



def test_a_training_process_that_cannot_start_fails_clearly_and_unlocks_the_form(qtbot, tmp_path, monkeypatch):
    import multiprocessing.context as mpc

    def no_process(self):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(mpc.SpawnProcess, "start", no_process)
    panel, ctl = _panel(qtbot, tmp_path, epochs=1)
    errors = []
    ctl.error.connect(errors.append)
    with qtbot.waitSignal(ctl.training_finished, timeout=30_000) as finished:
        assert ctl.start({"device": "cpu"})
    assert finished.args == ["failed"]
    assert "could not start" in ctl.last_error and "Resource temporarily unavailable" in ctl.last_error
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()
