"""Import and export datasets in a worker, with a progress dialog and Cancel.

The functions themselves live in ``segstudio.formats`` (the same ones the
``segstudio import`` / ``segstudio export`` commands call); this only runs
them off the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QProgressDialog

from segstudio.app.workers import JobRunner
from segstudio.errors import SegStudioError

KIND = "io"


def export_job(project, req: dict):
    from segstudio.formats.export import export_all

    def fn(ctx):
        summaries = export_all(project, req["outputs"], val_fraction=req["val_fraction"], seed=req["seed"],
                               overwrite=req["overwrite"], progress=ctx.progress, cancelled=ctx.cancelled)
        lines = [f"{s.format}: {s.images} images ({s.train} train, {s.val} val) → {s.out_dir}"
                 for s in summaries.values()]
        lines += [f"note: {n}" for s in summaries.values() for n in s.notes]
        return "\n".join(lines)
    return fn


def import_job(req: dict):
    from segstudio.formats import imports
    from segstudio.formats.labelfile import read_label_file

    def fn(ctx):
        if not req["source"] or not req["project"]:
            raise SegStudioError("choose the dataset to import and a new project folder")
        labels = read_label_file(req["labels"]) if req["labels"] else None
        kw = {"progress": ctx.progress, "cancelled": ctx.cancelled}
        fmt = req["format"]
        if fmt == "voc":
            project = imports.import_voc(req["source"], req["project"], labels=labels, **kw)
        elif fmt == "coco":
            project = imports.import_coco([req["source"]], req["project"], images_dir=req["images"],
                                          labels=labels, **kw)
        elif fmt == "masks":
            if not req["masks"] or labels is None:
                raise SegStudioError("importing masks needs the masks folder and a label file")
            project = imports.import_masks(req["source"], req["project"], req["masks"], labels, **kw)
        else:
            project = imports.import_labelme(req["source"], req["project"], labels=labels, **kw)
        return str(project.root)
    return fn


class IOController(QObject):
    done = Signal(str, object)    # kind ("export" | "import"), result (summary text | project root)
    imported = Signal(str)        # root of a project made by an import: the window opens it
    failed = Signal(str)
    finished = Signal(str)        # "done" | "cancelled" | "failed"

    def __init__(self, document, settings, parent_widget):
        super().__init__(parent_widget)
        self.document, self.settings = document, settings
        self.parent_widget = parent_widget
        self.runner = JobRunner(max_threads=1, parent=self)
        self.dialog: QProgressDialog | None = None
        self.done.connect(self._on_done)

    # -- the menu commands -------------------------------------------------------------
    @Slot()
    def import_dialog(self) -> None:
        from segstudio.app.io_dialogs import ImportDialog
        dlg = ImportDialog(self.settings.get("last_path"), self.parent_widget)
        if dlg.exec():
            self.run_import(dlg.request())

    def run_import(self, request: dict) -> None:
        self.start("import", import_job(request))

    @Slot()
    def export_dialog(self) -> None:
        from segstudio.app.io_dialogs import ExportDialog
        if self.document.project is None:
            self.failed.emit("nothing to export: open a folder or a project first")
            return
        dlg = ExportDialog(self.document.project.root, self.parent_widget)
        if dlg.exec():
            self.run_export(dlg.request())

    def run_export(self, request: dict) -> None:
        """Save the open image first: the export reads the saved annotations."""
        project = self.document.project
        if project is None or not self.document.save():
            return
        try:
            if not project.exists_on_disk:
                project.save()
        except SegStudioError as e:
            self.failed.emit(str(e))
            return
        self.start("export", export_job(project, request))

    def _on_done(self, kind: str, result) -> None:
        if kind == "import":
            self.imported.emit(result)
            return
        box = QMessageBox(QMessageBox.Icon.Information, "Export finished", result or "exported",
                          QMessageBox.StandardButton.Ok, self.parent_widget)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- running ------------------------------------------------------------------------------

    def start(self, what: str, fn) -> None:
        dlg = QProgressDialog(f"{what}…", "Cancel", 0, 0, self.parent_widget)
        dlg.setWindowTitle(what.capitalize())
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(300)
        dlg.canceled.connect(lambda: self.runner.cancel(KIND))
        self.dialog = dlg

        def connect(job):
            job.signals.progress.connect(self._progress)
            job.signals.result.connect(lambda r: self.done.emit(what, r.value))
            job.signals.error.connect(self.failed)
            job.signals.finished.connect(self._finished)
        self.job = self.runner.submit(KIND, None, fn, connect)

    def _progress(self, done: int, total: int, message: str) -> None:
        # QProgressDialog.setValue runs the event loop when the dialog is modal, and the
        # job's "finished" may be delivered in there (closing the dialog): use a local
        # reference and call setValue last.
        dlg = self.dialog
        if dlg is None:
            return
        if message:
            dlg.setLabelText(message)
        dlg.setRange(0, max(1, total))
        dlg.setValue(done)

    def _finished(self, state: str) -> None:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
        self.finished.emit(state)
