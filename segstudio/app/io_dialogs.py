"""File → Import dataset… and Export dataset…: the two forms (what to do, not how)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox,
                               QWidget)

EXPORT_FORMATS = (("voc", "Pascal VOC (segmentation)"), ("coco", "COCO instances"), ("panoptic", "COCO panoptic"))
IMPORT_FORMATS = (("voc", "Pascal VOC folder"), ("coco", "COCO instances JSON"),
                  ("masks", "images + label masks"), ("labelme", "labelme JSON"))


def path_row(parent, edit: QLineEdit, folder: bool, title: str, filters: str = "") -> QWidget:
    box = QWidget(parent)
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(edit, 1)
    btn = QPushButton("…")
    btn.setFixedWidth(28)

    def browse():
        if folder:
            p = QFileDialog.getExistingDirectory(parent, title, edit.text())
        else:
            p, _ = QFileDialog.getOpenFileName(parent, title, edit.text(), filters)
        if p:
            edit.setText(p)
    btn.clicked.connect(browse)
    lay.addWidget(btn)
    return box


class ExportDialog(QDialog):
    def __init__(self, project_root: Path, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.formats = {name: QCheckBox(text) for name, text in EXPORT_FORMATS}
        self.formats["voc"].setChecked(True)
        self.out = QLineEdit(str(project_root.parent / f"{project_root.name}-export"))
        self.val = QDoubleSpinBox(minimum=0.0, maximum=0.9, singleStep=0.05, value=0.2)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.overwrite = QCheckBox("replace the folder if it exists")
        form = QFormLayout(self)
        for cb in self.formats.values():
            form.addRow(cb)
        form.addRow("Output folder", path_row(self, self.out, True, "Export into"))
        form.addRow("Validation share", self.val)
        form.addRow("Split seed", self.seed)
        form.addRow(self.overwrite)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> dict:
        chosen = [name for name, cb in self.formats.items() if cb.isChecked()]
        out = Path(self.out.text().strip()).expanduser()
        outputs = {chosen[0]: str(out)} if len(chosen) == 1 else {f: str(out / f) for f in chosen}
        return {"outputs": outputs, "val_fraction": self.val.value(), "seed": self.seed.value(),
                "overwrite": self.overwrite.isChecked()}


class ImportDialog(QDialog):
    def __init__(self, start: str = "", parent=None):
        super().__init__(parent)
        self.setWindowTitle("Import dataset")
        self.format = QComboBox()
        for name, text in IMPORT_FORMATS:
            self.format.addItem(text, name)
        self.source = QLineEdit(start)
        self.images = QLineEdit()
        self.masks = QLineEdit()
        self.labels = QLineEdit()
        self.project = QLineEdit()
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("Source", path_row(self, self.source, False, "Dataset file (for folders type the path)",
                                       "Dataset files (*.json *.txt);;All files (*)"))
        form.addRow("Images folder (COCO)", path_row(self, self.images, True, "Images of the COCO file"))
        form.addRow("Masks folder (masks)", path_row(self, self.masks, True, "Label masks"))
        form.addRow("Label file", path_row(self, self.labels, False, "Label file", "Text (*.txt);;All files (*)"))
        form.addRow("New project folder", path_row(self, self.project, True, "Project folder"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> dict:
        def opt(edit):
            t = edit.text().strip()
            return t or None
        return {"format": self.format.currentData(), "source": self.source.text().strip(),
                "images": opt(self.images), "masks": opt(self.masks), "labels": opt(self.labels),
                "project": self.project.text().strip()}
