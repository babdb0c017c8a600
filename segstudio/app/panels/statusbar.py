"""The status bar: pixel position, class and instance under the pointer, zoom."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar


class StatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.position = QLabel()
        self.under = QLabel()
        self.zoom = QLabel()
        for w in (self.position, self.under, self.zoom):
            w.setMinimumWidth(90)
            self.addPermanentWidget(w)

    def show_pixel(self, x: int, y: int, class_name: str | None, instance: str | None) -> None:
        if x < 0:
            self.position.setText("")
            self.under.setText("")
            return
        self.position.setText(f"x {x}  y {y}")
        self.under.setText(f"{class_name}" + (f" · instance {instance}" if instance else ""))

    def show_zoom(self, scale: float) -> None:
        self.zoom.setText(f"{scale * 100:.0f}%")
