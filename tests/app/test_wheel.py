"""The wheel over the Train and Model panels scrolls them; it changes a field only when that field has the focus."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QScrollArea


def wheel(widget, steps: int) -> None:
    """A wheel turn over the middle of ``widget`` (negative: towards the user, scrolls down)."""
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def show_dock(window, title):
    dock = next(d for d in window.findChildren(QDockWidget) if d.windowTitle() == title)
    dock.raise_()
    return dock.widget()


def test_wheel_over_the_train_panel_scrolls_it_instead_of_changing_the_base_model(window, qtbot):
    window.resize(1000, 520)  # the Train form is taller than its dock
    scroll: QScrollArea = show_dock(window, "Train")
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0, timeout=3000)
    panel = window.train
    panel.auto_size.setChecked(False)  # sizes of one's own: the batch field can take the focus
    bar = scroll.verticalScrollBar()
    model, batch = panel.model.currentText(), panel.batch.value()
    assert panel.model.count() > 1
    wheel(panel.model, -2)
    wheel(panel.batch, -1)
    assert panel.model.currentText() == model and panel.batch.value() == batch
    assert bar.value() > 0  # the panel scrolled
    # a field the user clicked into takes the wheel
    panel.batch.setFocus()
    qtbot.waitUntil(panel.batch.hasFocus, timeout=3000)
    wheel(panel.batch, 1)
    assert panel.batch.value() == batch + 1
    assert panel.model.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel never gives it the focus


def test_wheel_over_the_model_panel_leaves_its_fields_alone(window, qtbot):
    show_dock(window, "Model")
    panel = window.model
    choice = panel.choice()
    iterations = panel.crf_iters.value()  # the model card's CRF settings are shown
    wheel(panel.model_box, -1)
    wheel(panel.threshold, 3)
    wheel(panel.crf_iters, 2)
    assert panel.choice() == choice and panel.crf_iters.value() == iterations
    panel.threshold.setFocus()
    qtbot.waitUntil(panel.threshold.hasFocus, timeout=3000)
    wheel(panel.threshold, 1)
    assert panel.choice().score_threshold > choice.score_threshold
