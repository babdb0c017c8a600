"""What the smart tools need besides the document, without Qt.

A ``SmartContext`` gives the smart tools the image, the prediction memory,
the superpixels (per size, cached), their settings, somewhere to run slow
work and a way to tell the user something or show a preview.  This base runs
everything at once, which is what tests and scripts want; the app's
``SmartSession`` (``app/smart.py``) computes superpixels when an image opens
and runs proposals in a worker, handing results back on the GUI thread.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from segstudio.core.smart import Proposal, SmartParams
from segstudio.errors import SegStudioError

DEFAULT_VIEW_SIZE = 16  # superpixel size of the brush when no zoom is known


class SmartContext:
    def __init__(self, image=None, memory=None, params: SmartParams | None = None):
        self.image = image
        self.memory = memory
        self.params = params or SmartParams()
        self.messages: list[str] = []
        self.preview: Proposal | None = None
        self.view_size = DEFAULT_VIEW_SIZE
        self._superpixels: dict[int, Any] = {}
        self._lock = threading.Lock()

    # -- superpixels --------------------------------------------------------------
    def cached_superpixels(self, size: int):
        with self._lock:
            return self._superpixels.get(int(size))

    def compute_superpixels(self, size: int):
        """The superpixels of ``size`` (computed now if missing; any thread)."""
        from segstudio.core.superpixels import compute_superpixels
        sp = self.cached_superpixels(size)
        if sp is None:
            image = self.image
            if image is None:
                raise SegStudioError("open an image first")
            sp = compute_superpixels(image, int(size))
            with self._lock:
                if self.image is image:  # not if another image was opened meanwhile
                    self._superpixels[int(size)] = sp
        return sp

    def brush_superpixels(self):
        """The superpixels for the brush at the current zoom, or the nearest size ready (None: none yet)."""
        return self.compute_superpixels(self.view_size)

    # -- work and feedback ----------------------------------------------------------
    def run(self, compute: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run ``compute()`` (here at once; the app: in a worker) and pass its result to ``done``."""
        try:
            value = compute()
        except SegStudioError as e:
            self.message(str(e))
            return
        done(value)

    def message(self, text: str) -> None:
        self.messages.append(text)

    def set_preview(self, proposal: Proposal | None) -> None:
        self.preview = proposal
