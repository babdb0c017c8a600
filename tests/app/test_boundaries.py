"""Controllers talk to widgets through the widgets' own methods, never through their children.

``PredictController`` and ``TrainController`` hold their panel as ``self.panel``;
the window holds its panels and the canvas as attributes.  Writing
``self.panel.message.setText(...)`` or ``self.canvas.overlay.set_palette(...)``
ties a controller to a widget's insides; ask the widget instead
(``panel.show_message``, ``canvas.set_palette``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import segstudio.app

APP = Path(segstudio.app.__file__).resolve().parent
# module -> the attributes of ``self`` that are widgets it must not reach into
WIDGETS = {
    "predict.py": {"panel"},
    "train.py": {"panel"},
    "io_jobs.py": {"parent_widget"},
    "window.py": {"canvas", "images", "labels", "instances", "model", "train", "status"},
}


def reaches_into(path: Path, widgets: set[str]) -> list[str]:
    """``self.<widget>.<child>.<anything>`` chains: a child of a widget used from outside
    (connecting to a widget's own signal, ``self.<widget>.<signal>.connect``, is its API)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)):
            continue
        if node.attr in ("connect", "disconnect", "emit"):
            continue
        inner = node.value.value
        if (isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) and inner.value.id == "self"
                and inner.attr in widgets):
            found.append(f"{path.name}:{node.lineno}: self.{inner.attr}.{node.value.attr}.{node.attr}")
    return found


def test_controllers_use_widget_methods_not_children():
    found = [hit for name, widgets in WIDGETS.items() for hit in reaches_into(APP / name, widgets)]
    assert not found, ("a controller reaches into a widget's children; give the widget a small method "
                       "and call that:\n  " + "\n  ".join(found))


def test_the_check_sees_a_child_access(tmp_path):
    f = tmp_path / "c.py"
    f.write_text("class C:\n    def f(self):\n        self.panel.message.setText('x')\n        self.panel.show('y')\n"
                 "        self.panel.clicked.connect(print)\n")
    assert reaches_into(f, {"panel"}) == ["c.py:3: self.panel.message.setText"]
