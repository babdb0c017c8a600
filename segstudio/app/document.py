"""The session: which project and image are open, their document, saving.

``DocumentController`` owns the open ``Project``, the current image and its
``Editor`` (document + undo history).  The undo history of an image stays
available for the session when the user switches away and back
(``SessionHistories``, bounded by bytes across images).  It saves on image switch, on close and
on a timer while there are unsaved edits; in between it writes a
crash-recovery file a few seconds after the last edit.  A failed save is
reported through ``save_failed`` and the edits stay open (the image is not
switched away).

The timer's autosave encodes and writes a snapshot in a background thread
(a 24-megapixel annotation takes most of a second to encode), so painting
never stalls on it; saves on switch and close are synchronous.  One lock
keeps two saves from writing the same files at once.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from segstudio.app.editor import Editor
from segstudio.app.histories import SessionHistories
from segstudio.app.recovery import RecoveryStore
from segstudio.app.workers import JobResult, JobRunner
from segstudio.core import batch_pick
from segstudio.core.annotation import Annotation
from segstudio.core.history import History
from segstudio.errors import ProjectError, SegStudioError
from segstudio.formats.images import is_image_file, load_image
from segstudio.formats.project import PROJECT_FILE, Project

RECOVERY_DELAY_MS = 3000


def read_document(project: Project, key: str) -> tuple[np.ndarray, Annotation]:
    """The image and its annotation (saved or blank); no Qt, runs in any thread."""
    image = load_image(project.image_path(key))
    doc = project.load_or_new(key)
    if doc.shape != image.shape[:2]:
        raise ProjectError(f"{project.annotation_files(key)['meta']}: the annotation is "
                           f"{doc.width}×{doc.height} but the image is {image.shape[1]}×{image.shape[0]}; "
                           "delete the annotation files of this image to start over")
    return image, doc


def read_memory(project: Project, key: str, shape: tuple[int, int]) -> tuple[object, str]:
    """(PredictionMemory or None, a note when a saved one could not be used).

    The memory is what the last prediction knew; a damaged or stale file only
    costs the smart tools their model hints until the image is predicted again,
    so it never stops the image from opening.
    """
    try:
        memory = project.load_prediction_memory(key)
    except SegStudioError as e:
        return None, str(e)
    if memory is not None and memory.size != tuple(shape):
        return None, (f"{project.memory_path(key)} is for a {memory.size[1]}×{memory.size[0]} image; "
                      "predict this image again")
    return memory, ""


class DocumentController(QObject):
    project_opened = Signal(object)      # Project
    image_opened = Signal(str)           # key
    loading = Signal(str)                # key being read in the background
    load_failed = Signal(str)            # message
    edited = Signal(list, bool)          # boxes, instance table/metadata changed
    dirty_changed = Signal(bool)
    saved = Signal(str)                  # key
    save_failed = Signal(str)            # message
    status_changed = Signal(str, str)    # key, status of the open document
    memory_changed = Signal(str)         # key: the open image's prediction memory was replaced
    uncertainty_changed = Signal(str, float, object)  # key, mean uncertainty and scene layout of its new
                                                      # prediction (any image; core.batch_pick.layout)
    history_changed = Signal()           # what undo / redo can do may have changed
    _background_done = Signal(str, str, str)  # key, root, error message ("" = saved)

    def __init__(self, recovery_dir: str | os.PathLike, autosave_seconds: int = 30, parent=None):
        super().__init__(parent)
        self.project: Project | None = None
        self.key: str | None = None
        self.image: np.ndarray | None = None
        self.editor: Editor | None = None
        self.memory = None                   # PredictionMemory of the open image, or None
        self.memory_note = ""                # why a saved memory could not be used
        self.recovery = RecoveryStore(recovery_dir)
        self.histories = SessionHistories()
        self._dirty = False
        self._unsaved_failure = False  # a background save failed: dirty until a save succeeds
        self._save_lock = threading.Lock()
        self._saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segstudio-autosave")
        self._background_done.connect(self._on_background_done)
        self.loader = JobRunner(max_threads=1, parent=self)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.set_autosave_interval(autosave_seconds)
        self.recovery_timer = QTimer(self)
        self.recovery_timer.setSingleShot(True)
        self.recovery_timer.setInterval(RECOVERY_DELAY_MS)
        self.recovery_timer.timeout.connect(self.write_recovery)

    # -- state ------------------------------------------------------------------
    @property
    def doc(self) -> Annotation | None:
        return self.editor.doc if self.editor else None

    @property
    def is_dirty(self) -> bool:
        return bool(self.editor and (self.editor.history.is_dirty or self._unsaved_failure))

    def image_path(self) -> Path | None:
        return self.project.image_path(self.key) if self.project and self.key else None

    def set_autosave_interval(self, seconds: int) -> None:
        self.autosave_timer.stop()
        if seconds > 0:
            self.autosave_timer.start(int(seconds * 1000))

    # -- opening ------------------------------------------------------------------
    def open_path(self, path: str | os.PathLike) -> bool:
        """Open an image, a folder or a project (folder or its segstudio.json).

        An image opens the project that lists it, or else its own folder's images
        (not its subfolders: ``Project.for_image``).  The image is read before
        anything changes, so a path that cannot be opened (SegStudioError) leaves
        the open project and image as they were.  Returns False if the current
        image could not be saved first (nothing was changed either).
        """
        path = Path(path).expanduser()
        if not path.exists():
            raise ProjectError(f"{path}: no such file or folder")
        if path.is_file() and path.name != PROJECT_FILE:
            if not is_image_file(path):
                raise ProjectError(f"{path}: not an image; open an image, a folder of images or a project")
            project, key = Project.for_image(path)
        else:
            folder = path.parent if path.is_file() else path
            project, key = Project.open(folder), None
            if not project.images:
                raise ProjectError(f"{folder}: holds no images (.jpg, .png, .tif, ...); open a folder with images")
            key = project.images[0].key
        if not self.save_if_dirty():
            return False
        self.wait_for_saves()  # a queued background write of that image goes first
        image, doc = read_document(project, key)  # raises before anything changed
        memory = read_memory(project, key, doc.shape)
        self.loader.cancel("load")
        self._close_document()
        self.project = project
        self.project_opened.emit(project)
        self._install(key, image, doc, *memory)
        return True

    def select(self, key: str) -> bool:
        """Switch to another image of the project (saving the current one first); waits for it."""
        if self.project is None:
            return False
        if key == self.key and self.editor is not None:
            return True
        if not self.save_if_dirty():
            return False
        self.loader.cancel("load")  # a slower background load must not replace this one
        self.wait_for_saves()  # a queued background write of this image goes first
        image, doc = read_document(self.project, key)
        self._install(key, image, doc, *read_memory(self.project, key, doc.shape))
        return True

    def select_async(self, key: str) -> bool:
        """Like ``select`` but the image and annotation are read in a worker (big images).

        ``loading`` is emitted now and ``image_opened`` when it is ready; a
        newer request makes an older one's result be dropped.
        """
        if self.project is None:
            return False
        if key == self.key and self.editor is not None:
            self.loader.cancel("load")
            return True
        if not self.save_if_dirty():
            return False
        project = self.project

        def connect(job):
            job.signals.result.connect(self._on_loaded)
            job.signals.error.connect(self.load_failed)

        def load(ctx):
            self.wait_for_saves()  # a queued background write of this image goes first
            image, doc = read_document(project, key)
            return (project, image, doc, *read_memory(project, key, doc.shape))
        self.loader.submit("load", key, load, connect)
        self.loading.emit(key)
        return True

    def _on_loaded(self, result: JobResult) -> None:
        project, image, doc, memory, note = result.value
        if not self.loader.is_current(result) or project is not self.project:
            return
        if self.is_dirty and not self.save():  # edits made while it was loading
            return
        self._install(result.key, image, doc, memory, note)

    def _install(self, key: str, image: np.ndarray, doc: Annotation, memory=None, memory_note: str = "") -> None:
        self._close_document()
        self.key, self.image = key, image
        self.memory, self.memory_note = memory, memory_note
        self._unsaved_failure = False
        history = self.histories.take(self._history_key(key), self._files_token(key)) or History()
        history.mark_saved()  # the document is what was saved
        self.editor = Editor(doc, history)
        self.editor.subscribe(self._on_edit)
        self._set_dirty(False)
        self.image_opened.emit(key)
        self.history_changed.emit()

    def replace_document(self, doc: Annotation) -> None:
        """Put a recovered document in place of the open one, as unsaved edits."""
        if self.editor is None or doc.shape != self.editor.doc.shape:
            raise ProjectError("the recovered annotation does not match the open image")
        from segstudio.core.annotation import record
        table = {k: None for k in self.editor.doc.instances}
        table.update(doc.instances)
        patch = record(self.editor.doc, (0, 0, doc.height, doc.width), doc.class_map, doc.instance_map,
                       doc.user_mask, instances=table, meta={"status": doc.status, "model": doc.model})
        self.editor.push(patch, "recover")

    def _close_document(self) -> None:
        self.recovery_timer.stop()
        self._keep_history()
        self.key = self.image = self.editor = self.memory = None
        self.memory_note = ""
        self.history_changed.emit()

    # -- undo histories of the images left behind ------------------------------------
    def _history_key(self, key: str) -> tuple[str, str]:
        return str(self.project.root), key

    def _files_token(self, key: str):
        """What identifies the saved annotation files of ``key`` (changed by any rewrite)."""
        token = []
        for path in self.project.annotation_files(key).values():
            try:
                st = path.stat()
                token.append((st.st_ino, st.st_mtime_ns, st.st_size))
            except OSError:
                token.append(None)
        return tuple(token)

    def _keep_history(self) -> None:
        """Keep the closing image's undo history if it matches what is saved."""
        editor, project, key = self.editor, self.project, self.key
        if editor is None or project is None or key is None:
            return
        history = editor.history
        if self.is_dirty or not (history.can_undo or history.can_redo):
            self.histories.drop(self._history_key(key))  # unsaved edits: the files are not its state
            return
        self.wait_for_saves()  # the token must be taken after the last write of this image
        self.histories.keep(self._history_key(key), history, self._files_token(key))

    def set_memory(self, key: str, memory) -> None:
        """Keep a new prediction memory of an image: in use at once when it is the open
        image, saved in the background (ordered with the autosaves) either way."""
        project = self.project
        if project is None or memory is None or not project.has_key(key):
            return
        if key == self.key:
            if memory.size != self.doc.shape:
                return
            self.memory, self.memory_note = memory, ""
            self.memory_changed.emit(key)
        self.uncertainty_changed.emit(key, memory.mean_uncertainty(), batch_pick.layout(memory))
        self._save_in_background(key, project, lambda: project.save_prediction_memory(key, memory),
                                 "the model's hints for the smart tools were not kept")

    # -- editing --------------------------------------------------------------------
    def _on_edit(self, boxes, table_changed) -> None:
        self.histories.trim(self.editor.history.nbytes)
        self.history_changed.emit()
        self.edited.emit(boxes, table_changed)
        if table_changed and self.key is not None:
            self.status_changed.emit(self.key, self.editor.doc.status)
        self._set_dirty(self.is_dirty)
        if self._dirty:
            self.recovery_timer.start()

    def undo(self) -> bool:
        done = bool(self.editor and self.editor.undo())
        self._set_dirty(self.is_dirty)
        self.history_changed.emit()
        return done

    def redo(self) -> bool:
        done = bool(self.editor and self.editor.redo())
        self._set_dirty(self.is_dirty)
        self.history_changed.emit()
        return done

    def can_undo(self) -> bool:
        return bool(self.editor and self.editor.history.can_undo)

    def can_redo(self) -> bool:
        return bool(self.editor and self.editor.history.can_redo)

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)

    # -- saving -----------------------------------------------------------------------
    def save(self) -> bool:
        """Save the open annotation; on failure emit ``save_failed`` and return False."""
        if self.project is None or self.editor is None:
            return True
        self.editor.history.end_step()
        self.wait_for_saves()  # queued background writes go first (they are older)
        try:
            if not self.project.exists_on_disk:
                self.project.save()
            with self._save_lock:
                self.project.save_annotation(self.key, self.editor.doc)
        except SegStudioError as e:
            self.save_failed.emit(str(e))
            return False
        except OSError as e:  # anything the store did not translate
            self.save_failed.emit(f"{self.project.root}: could not save ({e}); your edits are still open")
            return False
        self.editor.history.mark_saved()
        self._unsaved_failure = False
        self.recovery_timer.stop()
        self.recovery.discard(self.project.root, self.key)
        self._set_dirty(False)
        self.saved.emit(self.key)
        return True

    def save_if_dirty(self) -> bool:
        return self.save() if self.is_dirty else True

    def autosave(self) -> None:
        """The timer's save: snapshot now, encode and write in the background."""
        if not self.is_dirty or self.editor.in_step or self.project is None:
            return
        try:
            if not self.project.exists_on_disk:
                self.project.save()
        except SegStudioError as e:
            self.save_failed.emit(str(e))
            return
        snapshot, key, project = self.editor.doc.copy(), self.key, self.project
        self.editor.history.mark_saved()  # optimistic: a failure makes the document dirty again
        self._unsaved_failure = False
        self._set_dirty(False)

        self._save_in_background(key, project, lambda: project.save_annotation(key, snapshot),
                                 "your edits are still open")

    def update_saved(self, key: str, change) -> None:
        """Change the saved annotation of an image that is not open, in the background.

        ``change(annotation)`` edits it in place (e.g. applies a prediction); the
        result is saved atomically and reported like an autosave.
        """
        project = self.project
        self.histories.drop(self._history_key(key))  # its files change outside that history

        def load_change_save():
            ann = project.load_or_new(key)
            change(ann)
            project.save_annotation(key, ann)
        self._save_in_background(key, project, load_change_save, f"{key} was not changed")

    def _save_in_background(self, key: str, project, save, what_remains: str) -> None:
        """Run ``save()`` on the saver thread (one save at a time) and report it like an autosave."""
        def work():
            try:
                with self._save_lock:
                    save()
                message = ""
            except SegStudioError as e:
                message = str(e)
            except OSError as e:
                message = f"{project.root}: could not save {key} ({e}); {what_remains}"
            self._background_done.emit(key, str(project.root), message)
        self._saver.submit(work)

    def wait_for_saves(self) -> None:
        """Block until queued background saves and recovery writes are done."""
        self._saver.submit(lambda: None).result()

    def _on_background_done(self, key: str, root: str, message: str) -> None:
        same = self.project is not None and str(self.project.root) == root and key == self.key
        if message:
            if same:
                self._unsaved_failure = True
                self._set_dirty(True)
                self.recovery_timer.start()
            self.save_failed.emit(message)
            return
        if same and not self.is_dirty:
            self.recovery.discard(root, key)
            self.recovery_timer.stop()
        self.saved.emit(key)

    def write_recovery(self, wait: bool = False) -> None:
        """Write the unsaved document aside (compressed in the background unless ``wait``)."""
        if not (self.is_dirty and self.project is not None):
            return
        snapshot, key, root = self.editor.doc.copy(), self.key, self.project.root

        def work():
            try:
                self.recovery.write(root, key, snapshot)
            except OSError:
                pass  # best effort: the autosave timer still runs
        future = self._saver.submit(work)
        if wait:
            future.result()

    def close(self) -> bool:
        """Save before quitting; False if the save failed (the caller should not quit)."""
        self.wait_for_saves()
        QCoreApplication.processEvents()  # deliver a background failure before deciding
        ok = self.save_if_dirty()
        if ok:
            self.autosave_timer.stop()
        return ok
