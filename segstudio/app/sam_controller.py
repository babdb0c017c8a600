"""Segment Anything in the app: embeddings and clicks run in workers, never on the GUI thread.

Once the Segment Anything tool has been chosen, every image that opens gets
its embedding computed in the background (the next image's right after, so
paging on finds it ready) and kept in a bounded ``EmbeddingCache``.  Each
change of the tool's prompts is one decode job (tens of milliseconds); a
result that is no longer current (another image, newer clicks, another
model) is dropped.  Before the tool is first chosen nothing is computed or
downloaded.  Without the ``segstudio[sam]`` extra the tool stays in the
toolbar and says how to install it.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from segstudio.app.download_dialog import DownloadDialog
from segstudio.app.workers import JobResult, JobRunner
from segstudio.ml import sam as sam_model
from segstudio.ml.sam_cache import EmbeddingCache

EMBED, DECODE = "sam_embed", "sam_decode"
DOWNLOAD = "download"
NOT_INSTALLED = f"Segment Anything is not installed; install it with {sam_model.INSTALL_HINT} and restart segstudio"


class SamController(QObject):
    changed = Signal()         # the tool's marks or mask changed: repaint the canvas
    message = Signal(str)      # a status line
    error = Signal(str)        # a problem a dialog should show
    ready = Signal(str)        # image key whose embedding is now available
    decoded = Signal(float)    # a mask came back for the current prompts (decoder ms)

    def __init__(self, document, settings, next_key: Callable[[str], str | None] | None = None, parent=None):
        super().__init__(parent)
        self.document, self.settings = document, settings
        self.next_key = next_key or (lambda key: None)
        self.cache = EmbeddingCache()
        self.embedder = JobRunner(max_threads=1, parent=self)
        self.decoder = JobRunner(max_threads=1, parent=self)  # a click never waits for a prefetch
        self.tool = None
        self.armed = False            # the tool was chosen once: embed every image that opens
        self.active = False           # the tool is the canvas's tool now (progress goes to the status line)
        self.loaded = None            # the LoadedSam the last embedding job used
        self.new_instance = False
        self.keep_user = True
        self.scale = 1.0
        self.dropped = 0              # stale results thrown away (tests and the status line)
        self._told_missing = False
        self._decode_idle = threading.Event()  # the embedding pauses between blocks while a click decodes
        self._decode_idle.set()
        self.download = DownloadDialog(lambda: self.parent() if hasattr(self.parent(), "isWindow") else None,
                                       self._cancel_download)

    # -- settings and wiring ---------------------------------------------------------------
    @property
    def variant(self) -> str:
        v = self.settings.get("sam_variant")
        return v if v in sam_model.VARIANTS else sam_model.DEFAULT_VARIANT

    @property
    def weights(self) -> str:
        return self.settings.get("sam_weights") or "default"

    @property
    def ident(self) -> str:
        return sam_model.ident_of(self.variant, self.weights)

    def attach(self, tool) -> None:
        """A new image opened with a fresh tool: connect it and start its embedding."""
        self.decoder.cancel(DECODE)
        self.tool = tool
        tool.backend = self
        tool.new_instance, tool.keep_user, tool.slop = self.new_instance, self.keep_user, 4.0 / self.scale
        if self.armed:
            self.prepare()

    def tool_selected(self, on: bool) -> None:
        self.active = bool(on)
        if not on:
            return
        if not sam_model.is_available():
            self._missing()
            return
        if not self.armed:
            self.armed = True
            self.prepare()
        elif not self.embedder.running(EMBED):
            self.prepare()
        title = sam_model.VARIANTS[self.variant].title
        self.message.emit(f"Segment Anything ({title}): click the object, right-click background, drag a box; "
                          "Enter accepts, Esc drops")

    @Slot()
    def set_variant(self, name: str) -> None:
        if name not in sam_model.VARIANTS or name == self.variant:
            return
        self.settings.set("sam_variant", name)
        self.embedder.cancel(EMBED)
        self.decoder.cancel(DECODE)
        self.loaded = None
        if self.tool is not None:
            self.tool.clear()
        if self.armed:
            self.prepare()

    @Slot(bool)
    def set_instance_mode(self, on: bool) -> None:
        self.new_instance = bool(on)
        if self.tool is not None:
            self.tool.new_instance = self.new_instance

    @Slot(bool)
    def set_replace_user(self, on: bool) -> None:
        self.keep_user = not on
        if self.tool is not None:
            self.tool.set_keep_user(self.keep_user)
            self.changed.emit()

    @Slot(float)
    def set_zoom(self, scale: float) -> None:
        self.scale = max(scale, 1e-6)
        if self.tool is not None:
            self.tool.slop = 4.0 / self.scale  # four screen pixels

    def shutdown(self) -> None:
        self.embedder.cancel(EMBED)
        self.decoder.cancel(DECODE)
        self.download.close()
        self.embedder.wait(10000)
        self.decoder.wait(5000)

    def _missing(self) -> None:
        if not self._told_missing:
            self._told_missing = True
            self.error.emit(NOT_INSTALLED)
        self.message.emit(NOT_INSTALLED)

    # -- embeddings -------------------------------------------------------------------------
    def _cache_key(self, key: str) -> tuple:
        return (str(self.document.project.root), key, self.ident)

    def _embedding(self):
        d = self.document
        if d.project is None or d.key is None:
            return None
        return self.cache.get(self._cache_key(d.key))

    def prepare(self) -> None:
        """Embed the open image (if not cached), then the next one."""
        d = self.document
        if d.project is None or d.key is None or not sam_model.is_available():
            return
        current = d.key
        keys = [current] + [k for k in [self.next_key(current)] if k and k != current]
        todo = [(k, d.image if k == current else d.project.image_path(k)) for k in keys
                if self._cache_key(k) not in self.cache]
        have_model = self.loaded is not None and self.loaded.ident == self.ident
        if have_model and (not todo or todo[0][0] != current):
            self._on_ready(current, None)
        if have_model and not todo:
            return
        variant, weights, root, cache = self.variant, self.weights, str(d.project.root), self.cache
        idle = self._decode_idle

        def block_done(ctx, done: int, total: int, key: str) -> None:
            idle.wait(5.0)  # on two cores a click must not share the CPU with a whole embedding
            ctx.progress(done, total, key)

        def work(ctx):
            from segstudio.formats.images import load_image

            ctx.check()
            loaded = sam_model.load_cached(variant, weights, progress=lambda done, total: ctx.progress(
                done, total or 0, DOWNLOAD))
            ctx.partial(None, (loaded, None))
            for key, src in todo:
                ctx.check()
                if (root, key, loaded.ident) in cache:
                    continue
                rgb = src if isinstance(src, np.ndarray) else load_image(src)
                blocks = len(loaded.model.image_encoder.blocks)
                count = iter(range(blocks + 1))
                t0 = time.perf_counter()
                emb = sam_model.embed(loaded, rgb, check=lambda: block_done(ctx, next(count), blocks, key))
                cache.put((root, key, loaded.ident), emb)
                ctx.partial(key, (loaded, time.perf_counter() - t0))
            return loaded

        def connect(job):
            job.signals.progress.connect(self._on_progress)
            job.signals.partial.connect(self._on_embedded)
            job.signals.error.connect(self._on_error)
            job.signals.finished.connect(lambda _state: self.download.close())
        self.embedder.submit(EMBED, current, work, connect)

    def _on_progress(self, done: int, total: int, what: str) -> None:
        if what == DOWNLOAD:
            self.download.show_progress(done, total, sam_model.VARIANTS[self.variant].title)
            return
        self.download.close()
        if what == self.document.key and self.active:
            pct = 100 * done // max(total, 1)
            self.message.emit(f"Segment Anything: computing this image's embedding… {pct} %")

    def _on_embedded(self, result: JobResult) -> None:
        """The model is loaded (key None) or an image's embedding is in the cache."""
        loaded, seconds = result.value
        if not self.embedder.is_current(result):
            self.dropped += 1  # another model was chosen meanwhile
            return
        self.loaded = loaded
        if result.key is None and self._embedding() is not None:
            self._on_ready(self.document.key, None)
        elif result.key is not None and result.key == self.document.key:
            self._on_ready(result.key, seconds)

    def _on_ready(self, key: str, seconds: float | None) -> None:
        if seconds is not None and self.active:
            self.message.emit(f"Segment Anything ready ({seconds:.1f} s for the embedding)")
        self.ready.emit(key)
        if self.tool is not None and self.tool.pending:
            self.request(self.tool)

    def _on_error(self, message: str) -> None:
        self.download.close()
        self.armed = False  # e.g. offline: ask again when the tool is used, not at every image
        self.error.emit(message)

    # -- clicks ------------------------------------------------------------------------------
    def request(self, tool) -> None:
        """The tool's prompts changed: decode them (in a worker) once the embedding is there."""
        self.changed.emit()
        if tool is not self.tool:
            return
        if not sam_model.is_available():
            self._missing()
            return
        emb = self._embedding()
        if emb is None or self.loaded is None or self.loaded.ident != emb.model_ident:
            self.message.emit("Segment Anything: the mask follows once this image's embedding is ready")
            if not self.embedder.running(EMBED):
                self.armed = True
                self.prepare()
            return
        loaded, prompt_id, idle = self.loaded, tool.prompt_id, self._decode_idle
        positive, negative, box = list(tool.positive), list(tool.negative), tool.box

        def work(ctx):
            ctx.check()
            session = sam_model.SamSession(loaded, emb)
            t0 = time.perf_counter()
            idle.clear()
            try:
                mask = session.predict(positive, negative, box)
            finally:
                idle.set()
            return mask, prompt_id, 1000 * (time.perf_counter() - t0)

        def connect(job):
            job.signals.result.connect(self._on_decoded)
            job.signals.error.connect(self.error)
        self.decoder.submit(DECODE, self.document.key, work, connect)

    def _on_decoded(self, result: JobResult) -> None:
        mask, prompt_id, ms = result.value
        tool = self.tool
        current = tool is not None and self.decoder.is_current(result, self.document.key)
        if not current or not tool.set_result(mask, prompt_id):
            self.dropped += 1
            return
        if mask is None:
            self.message.emit(f"Segment Anything found no object here ({ms:.0f} ms)")
        else:
            self.message.emit(f"Segment Anything: {int(mask.mask.sum())} pixels, model score {mask.score:.2f}, "
                              f"{ms:.0f} ms — Enter accepts, Esc drops")
        self.decoded.emit(ms)
        self.changed.emit()

    def forget(self, tool) -> None:
        self.decoder.cancel(DECODE)
        self.changed.emit()

    def report(self, text: str) -> None:
        self.message.emit(text)

    # -- the weights download dialog ------------------------------------------------------------
    def _cancel_download(self) -> None:
        self.embedder.cancel(EMBED)
        self.armed = False  # the next choice of the tool asks again
        self.download.close()
        self.message.emit("Segment Anything: download cancelled")
