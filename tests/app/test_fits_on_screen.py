"""Nothing is cut off at the right edge: the Train dock and the shortcut list at their default sizes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolButton, QWidget

from segstudio.app.panels.form_scroll import FormScrollArea


def _inside(widget, viewport) -> bool:
    top_left = widget.mapTo(viewport, widget.rect().topLeft())
    return viewport.rect().contains(widget.rect().translated(top_left))


def test_train_panel_fits_its_dock_at_the_default_window_size(make_window, qtbot):
    win = make_window()
    win.resize(1280, 800)  # the size the window opens at without saved geometry
    dock = win.findChild(QDockWidget, "dock_train")
    dock.raise_()
    qtbot.waitUntil(dock.isVisible)
    viewport = dock.widget().viewport()
    qtbot.waitUntil(lambda: win.train.width() <= viewport.width())
    buttons = win.train.findChildren(QToolButton)   # the "…" browse buttons
    assert len(buttons) >= 5
    assert all(_inside(b, viewport) for b in buttons), [b.mapTo(viewport, b.rect().topRight()) for b in buttons]
    for w in (win.train.curve, win.train.table, win.train.minutes, win.train.crop):
        assert w.mapTo(viewport, w.rect().topRight()).x() < viewport.width()
    assert win.canvas.width() >= 400                # the image keeps most of the window


def test_a_wider_form_widens_its_dock_instead_of_being_cut(qtbot):
    main = QMainWindow()
    qtbot.addWidget(main)
    main.setCentralWidget(QWidget())
    form = QWidget()
    form.setMinimumSize(600, 1500)   # wider than the dock would be, taller than the window
    dock = QDockWidget("Form", main)
    dock.setWidget(FormScrollArea(form))
    main.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    main.resize(1000, 600)
    main.show()
    qtbot.waitExposed(main)
    viewport = dock.widget().viewport()
    qtbot.waitUntil(lambda: viewport.width() >= 600)
    assert form.width() <= viewport.width()
    assert dock.widget().verticalScrollBar().maximum() > 0   # it still scrolls up and down


def test_help_dialog_shows_every_column_in_full(qtbot):
    from segstudio.app.help_dialog import HelpDialog
    dlg = HelpDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    table = dlg.table
    for width in (dlg.width(), 520):   # the default size, and a narrower one: Command wraps
        dlg.resize(width, dlg.height())
        qtbot.waitUntil(lambda: table.viewport().width() <= width)
        view = table.viewport().width()
        for c in range(table.columnCount()):
            left = table.columnViewportPosition(c)
            assert 0 <= left and left + table.columnWidth(c) <= view, (width, c)
        for c in (0, 2):               # menu names and keys are never truncated
            assert table.columnWidth(c) >= table.sizeHintForColumn(c)
