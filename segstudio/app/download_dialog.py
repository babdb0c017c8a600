"""The modal "Downloading weights" dialog that a job's download progress drives.

``DownloadDialog(parent, on_cancel)``: ``show_progress(done, total, what)``
opens the dialog at the first report and updates it (bytes; ``total`` 0 when
the size is unknown); ``close()`` closes it and may be called at any time;
the dialog's Cancel calls ``on_cancel``.  Model prediction and the Segment
Anything tool both download weights through it.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget


class DownloadDialog:
    def __init__(self, parent: Callable[[], QWidget | None], on_cancel: Callable[[], None]):
        self._parent = parent          # asked when the dialog opens (the window may come later)
        self._on_cancel = on_cancel
        self.dialog: QProgressDialog | None = None

    def show_progress(self, done: int, total: int, what: str) -> None:
        if self.dialog is None:
            dlg = QProgressDialog(f"Downloading the weights of {what}…", "Cancel", 0, 0, self._parent())
            dlg.setWindowTitle("Downloading weights")
            dlg.setWindowModality(Qt.WindowModality.WindowModal)
            dlg.setMinimumDuration(0)
            dlg.setAutoClose(False)  # closed when the model starts, not at 100 %
            dlg.setAutoReset(False)
            dlg.canceled.connect(self._on_cancel)
            dlg.show()
            self.dialog = dlg
        dlg = self.dialog
        if total > 0:
            dlg.setRange(0, 1000)
            dlg.setValue(int(1000 * done / total))
            # a modal progress dialog's setValue processes events: Cancel may have closed it meanwhile
            if self.dialog is not dlg:
                return
            dlg.setLabelText(f"Downloading the weights of {what}: {done / 1e6:.1f} of {total / 1e6:.1f} MB")
        else:
            dlg.setLabelText(f"Downloading the weights of {what}: {done / 1e6:.1f} MB")

    def close(self) -> None:
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self._on_cancel)
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
