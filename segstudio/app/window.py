"""The main window: canvas in the middle, panels in docks, actions from ``actions.ACTIONS``.

The window wires widgets to the controllers: ``DocumentController``
(open/save/undo), ``PredictController`` (background prediction),
``TrainController`` (fine-tuning) and ``IOController`` (import/export); it owns
no document state and talks to widgets only through their small methods.
"""

from __future__ import annotations

from functools import partial
from operator import attrgetter

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox,
                               QScrollArea, QSlider, QToolBar)

from segstudio.app import resources
from segstudio.app.actions import ACTIONS
from segstudio.app.canvas.view import CanvasView
from segstudio.app.document import DocumentController
from segstudio.app.io_jobs import IOController
from segstudio.app.label_hints import eraser_tip
from segstudio.app.panels.form_scroll import FormScrollArea
from segstudio.app.panels.images import ImageListPanel
from segstudio.app.panels.instances import InstancePanel
from segstudio.app.panels.labels import LabelPanel
from segstudio.app.panels.model import ModelPanel
from segstudio.app.panels.smart import SmartPanel
from segstudio.app.panels.statusbar import StatusBar
from segstudio.app.panels.train_panel import TrainPanel
from segstudio.app.predict import PredictController
from segstudio.app.sam_controller import SamController
from segstudio.app.settings import Settings
from segstudio.app.smart import SmartSession
from segstudio.app.train import TrainController
from segstudio.app.tools import TOOL_CLASSES, ToolState
from segstudio.core import edits
from segstudio.errors import SegStudioError
from segstudio.formats.images import IMAGE_EXTENSIONS


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None):
        super().__init__()
        self.settings = settings or Settings()
        self.setObjectName("segstudio_main")
        self.setWindowTitle("segstudio[*]")
        self.setAcceptDrops(True)
        self._hover = (-1, -1)   # the image pixel under the pointer (the status bar's readout)
        self.document = DocumentController(self.settings.recovery_dir, self.settings.get("autosave_seconds"), self)
        self.state = ToolState(radius=self.settings.get("brush_radius"))
        self.state.on_pick.append(self._on_pick)
        self.tools = {}
        self.tool_name = "brush"
        self._say_when_open: tuple[str, str] | None = None  # (key, status message) once that image is open
        self.canvas = CanvasView()
        self.canvas.set_opacity(self.settings.get("opacity"))
        self.setCentralWidget(self.canvas)
        self.images = ImageListPanel()
        self.labels = LabelPanel()
        self.instances = InstancePanel()
        self.model = ModelPanel()
        self.train = TrainPanel()
        self.smart_panel = SmartPanel()
        docks = [self._dock("Images", self.images, Qt.DockWidgetArea.LeftDockWidgetArea),
                 self._dock("Model", self._scrolling(self.model), Qt.DockWidgetArea.LeftDockWidgetArea),
                 self._dock("Labels", self.labels, Qt.DockWidgetArea.RightDockWidgetArea),
                 self._dock("Instances", self.instances, Qt.DockWidgetArea.RightDockWidgetArea)]
        train_dock = self._dock("Train", self._scrolling(self.train), Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(docks[1], train_dock)
        smart_dock = self._dock("Smart tools", self.smart_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(docks[3], smart_dock)
        docks[3].raise_()
        docks[1].raise_()
        self.resizeDocks(docks, [405, 405, 250, 250], Qt.Orientation.Horizontal)
        self.resizeDocks(docks, [260, 440, 420, 220], Qt.Orientation.Vertical)
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.predictor = PredictController(self.document, self.model, self.settings, self)
        self.io = IOController(self.document, self.settings, self)
        self.training = TrainController(self.train, before_start=self._save_before_training, parent=self,
                                        model_in_use=self._model_in_use)
        self.sam = SamController(self.document, self.settings, lambda key: self.images.neighbour(key, 1), self)
        self.smart = SmartSession(self.document, self.smart_panel, self.settings, self)
        self.state.smart = self.smart
        self.actions_by_name: dict[str, QAction] = {}
        self._build_actions()
        self._connect()
        self._update_undo_actions()
        self.actions_by_name["tool_brush"].setChecked(True)
        self.actions_by_name[f"sam_{self.sam.variant}"].setChecked(True)
        self.actions_by_name["show_classes"].setChecked(self.settings.get("show_classes"))
        self.actions_by_name["show_outlines"].setChecked(self.settings.get("show_outlines"))
        self.actions_by_name["show_uncertainty"].setChecked(self.settings.get("show_uncertainty"))
        self.images.set_order(self.settings.get("image_order"))
        self.resize(1280, 800)
        geo, layout = self.settings.get_bytes("geometry"), self.settings.get_bytes("window_state")
        if geo is not None:
            self.restoreGeometry(geo)
        if layout is not None:
            self.restoreState(layout)

    # -- construction ---------------------------------------------------------------
    @staticmethod
    def _scrolling(panel) -> QScrollArea:
        """A tall form scrolls rather than squeezing the image list, and its dock is never narrower than it."""
        return FormScrollArea(panel)

    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_actions(self) -> None:
        menus, groups = {}, {}
        toolbar = QToolBar("Tools", self)
        toolbar.setObjectName("toolbar_main")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(toolbar)
        last_menu = None
        for spec in ACTIONS:
            act = QAction(spec.text, self)
            act.setObjectName(spec.name)
            if spec.shortcuts:
                act.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
            keys = ", ".join(spec.shortcuts)
            act.setToolTip(f"{spec.text.replace('&', '')}" + (f" ({keys})" if keys else "")
                           + (f"\n{spec.tip}" if spec.tip else ""))
            act.setStatusTip(spec.tip)
            act.setCheckable(spec.checkable)
            if spec.icon:
                act.setIcon(resources.icon(spec.icon))
            slot = attrgetter(spec.slot)(self)  # "undo" or "canvas.fit": a method of the window or a part
            if spec.checkable and spec.group is None:
                act.toggled.connect(slot)
            else:
                act.triggered.connect(partial(self._invoke, slot, spec.arg))
            if spec.group:
                groups.setdefault(spec.group, QActionGroup(self)).addAction(act)
            if spec.menu not in menus:
                menus[spec.menu] = self.menuBar().addMenu(spec.menu)
            menus[spec.menu].addAction(act)
            if spec.toolbar:
                if last_menu is not None and last_menu != spec.menu:
                    toolbar.addSeparator()
                toolbar.addAction(act)
                last_menu = spec.menu
            self.actions_by_name[spec.name] = act
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Opacity "))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setValue(int(round(self.canvas.opacity * 100)))
        self.opacity_slider.valueChanged.connect(lambda v: self._set_opacity(v / 100))
        toolbar.addWidget(self.opacity_slider)
        self.brush_label = QLabel()
        toolbar.addWidget(self.brush_label)
        self._show_brush()

    @staticmethod
    def _invoke(slot, arg, _checked=False):
        return slot() if arg is None else slot(arg)

    def _connect(self) -> None:
        d = self.document
        d.project_opened.connect(self._on_project)
        d.image_opened.connect(self._on_image)
        d.edited.connect(self._on_edited)
        d.dirty_changed.connect(self.setWindowModified)
        d.saved.connect(self._on_saved)
        d.save_failed.connect(lambda msg: self.show_error("Could not save", msg))
        d.status_changed.connect(self.images.set_status)
        d.uncertainty_changed.connect(self.images.set_uncertainty)
        d.memory_changed.connect(self._on_memory)
        self.images.order_changed.connect(lambda order: self.settings.set("image_order", order))
        d.history_changed.connect(self._update_undo_actions)
        d.history_changed.connect(self._refresh_hover)  # an edit, undo or new image under a still pointer
        self.images.image_activated.connect(self.open_key_async)
        d.loading.connect(self._on_loading)
        d.load_failed.connect(self._on_load_failed)
        self.labels.class_selected.connect(self._on_class_selected)
        self.labels.visibility_changed.connect(self._on_visibility)
        self.instances.instance_selected.connect(lambda k: self.state.pick("instance", k))
        self.instances.relabel_requested.connect(
            lambda k, c: self._edit(edits.relabel_instance, "relabel instance", k, c))
        self.instances.delete_requested.connect(self._delete_instances)
        self.instances.merge_requested.connect(
            lambda keep, others: self._edit(edits.merge_instances, "merge instances", keep, others))
        self.canvas.hovered.connect(self._on_hover)
        self.canvas.zoom_changed.connect(self.status.show_zoom)
        self.canvas.zoom_changed.connect(self.smart.set_zoom)
        self.smart.preview_changed.connect(lambda boxes: [self.canvas.update(self.canvas.box_to_widget(b))
                                                          for b in boxes])
        self.smart.message_shown.connect(lambda text: self.status.showMessage(text, 8000))
        self.predictor.error.connect(lambda msg: self.show_error("Prediction failed", msg))
        self.io.failed.connect(lambda msg: self.show_error("Import/export failed", msg))
        self.io.imported.connect(self.open_path)
        self.training.checkpoint_published.connect(self._use_checkpoint)
        self.model.choice_changed.connect(self.training.model_choice_changed)
        self.training.model_choice_changed()   # a restored choice may already be a checkpoint
        self.training.message.connect(lambda text: self.status.showMessage(text, 5000))
        self.training.error.connect(lambda msg: self.show_error("Training", msg))
        self.sam.changed.connect(self.canvas.update)
        self.sam.message.connect(lambda text: self.status.showMessage(text, 15000))
        self.sam.error.connect(lambda msg: self.show_error("Segment Anything", msg))
        self.canvas.zoom_changed.connect(self.sam.set_zoom)

    # -- opening ------------------------------------------------------------------------
    def open_path(self, path) -> bool:
        try:
            return self.document.open_path(path)
        except SegStudioError as e:
            self.show_error("Cannot open", str(e))
            return False

    @Slot()
    def open_key(self, key: str) -> bool:
        try:
            ok = self.document.select(key)
        except SegStudioError as e:
            self.show_error("Cannot open image", str(e))
            ok = False
        if not ok and self.document.key:
            self.images.set_current(self.document.key)
        return ok

    @Slot()
    def open_key_async(self, key: str) -> bool:
        """Open an image without freezing the window while a big file is read."""
        ok = self.document.select_async(key)
        if not ok and self.document.key:
            self.images.set_current(self.document.key)
        return ok

    def _on_loading(self, key: str) -> None:
        self.canvas.setEnabled(False)  # no edits to the old image while the new one loads
        self.setCursor(Qt.CursorShape.BusyCursor)
        self.status.showMessage(f"opening {key}…")

    def _on_load_failed(self, message: str) -> None:
        self._say_when_open = None
        self.canvas.setEnabled(True)
        self.unsetCursor()
        self.show_error("Cannot open image", message)
        if self.document.key:
            self.images.set_current(self.document.key)

    @Slot()
    def open_dialog(self) -> None:
        exts = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(self, "Open an image or a project", self.settings.get("last_path"),
                                              f"Images and projects ({exts} segstudio.json);;All files (*)")
        if path:
            self.open_path(path)

    @Slot()
    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images", self.settings.get("last_path"))
        if path:
            self.open_path(path)

    def step_image(self, step: int) -> None:
        key = self.images.neighbour(self.document.key, step)
        if key is not None:
            self.open_key_async(key)

    def _on_project(self, project) -> None:
        self.train.set_project(str(project.root))
        self.labels.set_labels(project.labels, self.labels.hidden())
        self.instances.set_labels(project.labels)
        self.images.set_project(project)
        self.settings.set("last_path", str(project.root))
        if not project.labels.is_valid(self.state.class_id) or self.state.class_id == 0:
            self.state.class_id = 1 if len(project.labels) > 1 else 0
        self.labels.select_class(self.state.class_id)
        self._describe_labels(project.labels)

    def _describe_labels(self, labels) -> None:
        """Menus and tips that depend on the label set: class names, what the eraser writes."""
        self.state.erase_id = labels.empty_id
        for i in range(10):
            self.actions_by_name[f"class_{i}"].setText(f"&{i} {labels.name_of(i)}" if i < len(labels)
                                                       else f"Class {i} (not in these labels)")
        eraser = self.actions_by_name["tool_eraser"]
        eraser.setStatusTip(eraser_tip(labels))
        eraser.setToolTip(f"Eraser (E)\n{eraser_tip(labels)}")

    def _on_image(self, key: str) -> None:
        d = self.document
        self.tools = {name: cls(d.editor, self.state) for name, cls in TOOL_CLASSES.items()}
        self.state.selected_instance = 0
        self.canvas.set_document(d.image, d.editor, d.project.labels.palette(), self.labels.hidden(),
                                 self.actions_by_name["show_classes"].isChecked(),
                                 self.actions_by_name["show_outlines"].isChecked(),
                                 show_background=not d.project.labels.has_background)
        self.sam.attach(self.tools["sam"])
        self.canvas.set_tool(self.tools[self.tool_name])
        self.canvas.set_heat(d.memory)
        self._update_heat_legend()
        self.instances.set_document(d.doc)
        self.images.set_current(key)
        self._update_title()
        self.canvas.setEnabled(True)
        self.unsetCursor()
        said, self._say_when_open = self._say_when_open, None
        if said is not None and said[0] == key:
            self.status.showMessage(said[1], 8000)  # why this image was opened outlives the opening
        else:
            self.status.clearMessage()

    def _update_title(self) -> None:
        d = self.document
        if d.project is None or d.key is None:
            self.setWindowTitle("segstudio[*]")
            return
        self.setWindowTitle(f"{d.project.entry(d.key).relpath} — {d.project.root.name} — segstudio[*]")
        self.setWindowModified(d.is_dirty)

    # -- fine-tuning ----------------------------------------------------------------------
    def _model_in_use(self) -> dict | None:
        """What the predictor would use now: a new checkpoint must score at least as well."""
        c = self.model.choice()
        return {"model": c.model, "weights": c.weights} if c is not None else None

    def _save_before_training(self) -> bool:
        """Training reads the saved annotations: save the open image first."""
        return self.document.save()

    def _use_checkpoint(self, path: str, version: str) -> None:
        """A better fine-tuned model was published: the next prediction uses it, no restart."""
        from segstudio.app.predict_job import checkpoint_architecture
        self.model.use_checkpoint(path, checkpoint_architecture(path))
        self.status.showMessage(f"fine-tuned model {version} published; the next prediction uses it", 10000)

    # -- editing -------------------------------------------------------------------------
    def _edit(self, fn, label: str, *args) -> None:
        if self.document.editor is None:
            return
        try:
            self.document.editor.push(fn(self.document.doc, *args), label)
        except SegStudioError as e:
            self.show_error("Edit refused", str(e))

    def _delete_instances(self, ids) -> None:
        editor = self.document.editor
        if editor is None:
            return
        editor.begin("delete instances")
        empty = self.document.project.labels.empty_id  # the pixels become "nothing here"
        for k in ids:
            editor.apply(edits.delete_instance(editor.doc, k, to_class=empty))
        editor.end()

    def _on_edited(self, boxes, table_changed) -> None:
        if table_changed:
            self.instances.set_document(self.document.doc, self.state.selected_instance)

    def _on_saved(self, key: str) -> None:
        if self.document.project is not None:
            self.images.set_status(key, self.document.project.status(key))
        self.status.showMessage("saved", 2000)

    def _update_undo_actions(self) -> None:
        """Undo / Redo are enabled exactly when there is something to undo / redo."""
        d = self.document
        state = (("undo", d.can_undo(), d.editor and d.editor.history.undo_label),
                 ("redo", d.can_redo(), d.editor and d.editor.history.redo_label))
        if state == getattr(self, "_undo_state", None):
            return  # called on every brush move: touch the actions only when something changed
        self._undo_state = state
        for name, can, label in state:
            act = self.actions_by_name[name]
            act.setEnabled(can)
            word = name.capitalize()
            act.setText(f"&{word} {label}" if can and label else f"&{word}")
            act.setToolTip(f"{word} {label}" if can and label else word)

    @Slot()
    def undo(self) -> None:
        self.document.undo()

    @Slot()
    def redo(self) -> None:
        self.document.redo()

    @Slot()
    def save(self) -> bool:
        return self.document.save()

    @Slot()
    def mark_reviewed(self) -> None:
        self._edit(edits.set_status, "mark reviewed", "reviewed")

    def set_tool(self, name: str) -> None:
        self.tool_name = name
        act = self.actions_by_name.get(f"tool_{name}")
        if act is not None and not act.isChecked():
            act.setChecked(True)
        if name in self.tools:
            self.canvas.set_tool(self.tools[name])
        if name == "eraser" and self.document.project is not None:
            self.status.showMessage(eraser_tip(self.document.project.labels), 4000)
        self.sam.tool_selected(name == "sam")

    def select_class(self, class_id: int) -> None:
        labels = self.document.project.labels if self.document.project else None
        if labels is not None and labels.is_valid(class_id):
            self.state.pick("class", class_id)

    def resize_brush(self, factor: float) -> None:
        self.state.radius = min(500.0, max(0.5, self.state.radius * factor))
        self.settings.set("brush_radius", self.state.radius)
        self._show_brush()
        self.canvas.update()

    def _show_brush(self) -> None:
        self.brush_label.setText(f"  Brush {2 * self.state.radius:.0f} px ")

    def _on_class_selected(self, class_id: int) -> None:
        self.state.class_id = class_id
        if class_id == 255 and self.tool_name in ("brush",):
            self.status.showMessage("painting void", 2000)

    def _on_pick(self, kind: str, value: int) -> None:
        if kind == "class":
            self.labels.select_class(value)
        elif kind == "instance":
            inst = self.document.doc.instances.get(value) if self.document.doc else None
            if value not in self.instances.selected_ids():
                self.instances.select(value, inst.class_id if inst else None)
            self.canvas.select_instance(value)
            if inst is not None:
                self.labels.select_class(inst.class_id)

    def _on_hover(self, x: int, y: int) -> None:
        self._hover = (x, y)
        doc, project = self.document.doc, self.document.project
        if doc is None or not (0 <= y < doc.class_map.shape[0] and 0 <= x < doc.class_map.shape[1]):
            self.status.show_pixel(-1, -1, None, None)
            return
        k = int(doc.instance_map[y, x])
        self.status.show_pixel(x, y, project.labels.name_of(int(doc.class_map[y, x])), str(k) if k else None)

    def _refresh_hover(self) -> None:
        """The readout shows the pixel under the pointer as it is now, not as it was when the pointer
        last moved."""
        self._on_hover(*self._hover)

    # -- view ----------------------------------------------------------------------------
    def toggle_classes(self, on: bool) -> None:
        self.settings.set("show_classes", bool(on))
        self.canvas.set_layers_visible(classes=on)

    def _on_memory(self, key: str) -> None:
        self.canvas.set_heat(self.document.memory)
        self._update_heat_legend()

    def _update_heat_legend(self) -> None:
        self.status.show_heat(self.canvas.heat_visible, self.canvas.heat_mean())

    def toggle_uncertainty(self, on: bool) -> None:
        """The heat map of where the last prediction of this image was unsure."""
        self.settings.set("show_uncertainty", bool(on))
        self.canvas.set_heat_visible(on)
        self._update_heat_legend()
        if on and self.document.key is not None and not self.canvas.has_heat():
            self.status.showMessage("no prediction memory for this image yet: predict it to see its uncertainty",
                                    5000)

    @Slot()
    def next_uncertain(self) -> None:
        """Open the predicted image (not yet edited or reviewed) the model was least sure of."""
        key = self.images.most_uncertain(self.document.key)
        if key is None:
            self.status.showMessage("no predicted image is waiting for review; Predict all ranks every image "
                                    "by uncertainty", 5000)
            return
        what = "next to label" if self.images.order() == "plan" else "most uncertain"
        self._say_when_open = (key, f"{what}: {key} (uncertainty {self.images.uncertainty(key):.3f})")
        self.status.showMessage(self._say_when_open[1], 8000)
        if not self.open_key_async(key):
            self._say_when_open = None

    def toggle_outlines(self, on: bool) -> None:
        self.settings.set("show_outlines", bool(on))
        self.canvas.set_layers_visible(outlines=on)

    def _on_visibility(self, hidden) -> None:
        if self.document.project is not None:
            self.canvas.set_palette(self.document.project.labels.palette(), hidden)

    def change_opacity(self, delta: float) -> None:
        self.opacity_slider.setValue(int(round((self.canvas.opacity + delta) * 100)))

    def _set_opacity(self, value: float) -> None:
        self.canvas.set_opacity(value)
        self.settings.set("opacity", value)

    # -- messages --------------------------------------------------------------------------
    def show_error(self, title: str, message: str) -> None:
        """Show a problem without blocking (autosave may report while the user paints)."""
        self.status.showMessage(f"{title}: {message}", 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.last_error = message

    @Slot()
    def show_help(self) -> None:
        from segstudio.app.help_dialog import HelpDialog
        HelpDialog(self).exec()

    @Slot()
    def show_about(self) -> None:
        from segstudio.app.about import AboutDialog
        AboutDialog(self.settings.folder, self).exec()

    # -- drag and drop, recovery, closing --------------------------------------------------------
    def dragEnterEvent(self, e) -> None:
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:
        urls = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def offer_recovery(self, ask=None) -> bool:
        """If unsaved edits survived a crash, offer to put them back. Returns True if recovered.

        ``ask(entries) -> bool`` replaces the question dialog (tests)."""
        from segstudio.app.recovery_flow import ask_dialog, recover
        message = recover(self.document, ask or partial(ask_dialog, self), self.show_error)
        if message:
            self.status.showMessage(message, 10000)
        return message is not None

    def closeEvent(self, e) -> None:
        self.predictor.cancel()
        self.training.shutdown()
        if not self.document.close():
            answer = QMessageBox.question(
                self, "Quit without saving?", "The annotation could not be saved. Quit anyway? "
                "Your edits are kept in a recovery file and offered at the next start.")
            if answer != QMessageBox.StandardButton.Yes:
                e.ignore()
                return
            self.document.write_recovery(wait=True)
        self.settings.set_bytes("geometry", self.saveGeometry())
        self.settings.set_bytes("window_state", self.saveState())
        self.settings.sync()
        self.predictor.shutdown()
        self.sam.shutdown()
        self.smart.shutdown()
        super().closeEvent(e)
