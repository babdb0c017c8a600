"""The smart tools' session in the app: superpixels in the background, proposals in a worker.

``SmartSession`` is the app's ``SmartContext``.  When an image opens it
computes, in a worker, the superpixels click-to-correct uses and those the
superpixel brush needs at the current zoom (cached per image and size; a zoom
change asks for another size and the brush uses the nearest ready one
meanwhile).  Proposals (click-to-correct, the scribble CRF) run in a worker
too, one at a time in request order; a result is handed to the tool on the
GUI thread only if the same image is still open.  Messages go to the panel
and the status bar; the canvas draws the preview the tools offer and repaints
the boxes ``preview_changed`` names.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

from PySide6.QtCore import QObject, Signal

from segstudio.app.tools.smart_context import SmartContext
from segstudio.app.workers import JobRunner
from segstudio.core.smart import SmartParams
from segstudio.core.superpixels import size_for_zoom

TOLERANCE_STEP = 0.1


class SmartSession(QObject, SmartContext):
    message_shown = Signal(str)
    preview_changed = Signal(list)       # image boxes (y0, x0, y1, x1) whose preview changed
    superpixels_ready = Signal(int)      # size

    def __init__(self, document, panel, settings, parent=None):
        QObject.__init__(self, parent)
        SmartContext.__init__(self)
        self.document, self.panel, self.settings = document, panel, settings
        self.params = SmartParams(tolerance=settings.get("smart_tolerance"))
        self.proposals = JobRunner(max_threads=1, parent=self)
        self.background = JobRunner(max_threads=1, parent=self)
        self._requests = itertools.count(1)
        self._image_serial = 0
        self._pending: set[int] = set()
        self._callbacks: dict = {}
        self.dropped = 0
        panel.set_tolerance(self.params.tolerance)
        panel.tolerance_changed.connect(self._on_tolerance)
        panel.keep_user_changed.connect(lambda on: setattr(self, "params", replace(self.params, keep_user=on)))
        document.image_opened.connect(self._on_image)
        document.memory_changed.connect(self._on_memory)
        self.message_shown.connect(panel.show_message)

    # -- the open image ---------------------------------------------------------------
    def _on_image(self, key: str) -> None:
        self._image_serial += 1
        with self._lock:
            self._superpixels.clear()
        self._pending.clear()
        self.image, self.memory = self.document.image, self.document.memory
        self.set_preview(None)
        self.panel.show_message(self.document.memory_note or "")
        self._ensure(self.view_size)

    def _on_memory(self, key: str) -> None:
        self.memory = self.document.memory
        self.panel.show_message("")

    def set_zoom(self, scale: float) -> None:
        """The canvas zoom changed: the superpixel brush wants superpixels of another size."""
        size = size_for_zoom(scale)
        if size != self.view_size:
            self.view_size = size
            if self.image is not None:
                self._ensure(size)

    def _ensure(self, size: int) -> None:
        if self.image is None or size in self._pending or self.cached_superpixels(size) is not None:
            return
        self._pending.add(size)

        def connect(job):  # bound methods of this QObject: delivered on the GUI thread
            job.signals.result.connect(self._on_superpixels)
            job.signals.error.connect(self.message)
        self.background.submit(f"superpixels-{size}", self._image_tag(),
                               lambda ctx, s=size: (s, self.compute_superpixels(s)), connect)

    def _image_tag(self) -> str:
        return f"{self._image_serial}:{self.document.key}"

    def _on_superpixels(self, result) -> None:
        size, _ = result.value
        if result.key == self._image_tag():
            self._pending.discard(size)
            self.superpixels_ready.emit(size)

    def brush_superpixels(self):
        sp = self.cached_superpixels(self.view_size)
        if sp is not None:
            return sp
        self._ensure(self.view_size)
        with self._lock:
            ready = list(self._superpixels)
        if not ready:
            return None
        best = min(ready, key=lambda s: abs(math.log(s / self.view_size)))
        return self.cached_superpixels(best)

    # -- settings ------------------------------------------------------------------------
    def _on_tolerance(self, value: float) -> None:
        self.params = self.params.with_tolerance(value)
        self.settings.set("smart_tolerance", self.params.tolerance)

    def change_tolerance(self, delta: float) -> None:
        """Keys , and .: narrower or wider corrections."""
        self.panel.set_tolerance(self.params.tolerance + float(delta))
        self.message(f"tolerance {round(100 * self.params.tolerance)}%")

    # -- work --------------------------------------------------------------------------------
    def run(self, compute, done) -> None:
        kind = f"proposal-{next(self._requests)}"  # every click counts: none replaces another
        self._callbacks[kind] = done

        def connect(job):  # bound methods of this QObject: delivered on the GUI thread
            job.signals.result.connect(self._deliver)
            job.signals.error.connect(self.message)
            job.signals.finished.connect(self._forget_finished)
        self.proposals.submit(kind, self._image_tag(), lambda ctx: compute(), connect)

    def _deliver(self, result) -> None:
        done = self._callbacks.pop(result.kind, None)
        if done is None or result.key != self._image_tag():
            self.dropped += 1  # another image is open now
            return
        done(result.value)

    def _forget_finished(self, state: str) -> None:
        if state != "done":  # failed or cancelled jobs leave no callback behind
            live = {j.kind for j in self.proposals.running()}
            for kind in [k for k in self._callbacks if k not in live]:
                self._callbacks.pop(kind, None)

    def message(self, text: str) -> None:
        self.message_shown.emit(text)

    def set_preview(self, proposal) -> None:
        boxes = [p.box for p in (self.preview, proposal) if p is not None]
        self.preview = proposal
        if boxes:
            self.preview_changed.emit(boxes)

    def wait(self, msecs: int = 10000) -> bool:
        """Wait for the background work (tests, shutting down)."""
        return self.background.wait(msecs) and self.proposals.wait(msecs)

    def shutdown(self) -> None:
        for runner in (self.background, self.proposals):
            for job in runner.running():
                job.cancel()
        self.wait(5000)
