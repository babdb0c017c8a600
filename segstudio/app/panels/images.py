"""The image list: every image of the folder or project with its status and, once predicted, its
uncertainty (the mean normalised entropy of its last prediction, MONAI Label's ranking score).

The list can be ordered by name, most uncertain first, or *next to label*
(``set_order``); predictions arriving one by one (Predict all) update the ranking
as they come (``set_uncertainty``; re-sorting is coalesced, so a long batch stays
cheap).  ``most_uncertain`` is the image the "next most uncertain image" key goes to.

*Next to label* is the labelling plan: the images not yet corrected, in batches of
10 that each take one image per kind of scene among the most uncertain
(``core.batch_pick.batch_order``, from the scene layouts the ranking file keeps),
then the rest most uncertain first; images already corrected come last.  Measured
on CamVid with ``benchmarks/bench_rounds.py``, a batch picked this way left the
next model needing fewer clicks than the ten most uncertain images or ten at
random.  The plan is made again when predictions change or a newly predicted image
starts to wait, not when an image is corrected, so a batch stays put while the
user works through it; the "next most uncertain image" key then follows the plan.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from segstudio.app.panels.common import swatch
from segstudio.core.batch_pick import batch_order
from segstudio.formats.project import Project

ROLE_KEY = Qt.ItemDataRole.UserRole
ROLE_INDEX = Qt.ItemDataRole.UserRole + 1
ROLE_NAME = Qt.ItemDataRole.UserRole + 2
STATUS_COLORS = {"unlabelled": (120, 120, 120), "predicted": (70, 140, 230),
                 "edited": (240, 170, 40), "reviewed": (60, 190, 90)}
ORDERS = (("name", "name"), ("uncertainty", "most uncertain first"), ("plan", "next to label"))
PLAN_BATCHES = 3   # batches of one image per scene at the top of the "next to label" order


class ImageListPanel(QWidget):
    image_activated = Signal(str)
    order_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget()
        self.order_box = QComboBox()
        for value, text in ORDERS:
            self.order_box.addItem(text, value)
        self.order_box.setToolTip("most uncertain first: images whose last prediction the model was least sure "
                                  "of (mean entropy) come first; Predict all ranks every image.\n"
                                  "next to label: images not yet corrected, in batches of 10 that take one image "
                                  "per kind of scene among the most uncertain; corrected images last")
        self.order_box.currentIndexChanged.connect(self._order_chosen)
        top = QHBoxLayout()
        top.addWidget(QLabel("Order"))
        top.addWidget(self.order_box, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.list)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        self._items: dict[str, QListWidgetItem] = {}
        self._status: dict[str, str] = {}
        self._uncertainty: dict[str, float] = {}
        self._layouts: dict[str, np.ndarray] = {}
        self._plan: dict[str, int] = {}   # key -> place in the "next to label" order, made from the predictions
        self._plan_stale = True
        self._resort = QTimer(self)
        self._resort.setSingleShot(True)
        self._resort.setInterval(150)
        self._resort.timeout.connect(self._reorder)

    def set_project(self, project: Project) -> None:
        self.list.clear()
        self._items.clear()
        self._status.clear()
        ranking = project.ranking()
        self._uncertainty = {k: v["u"] for k, v in ranking.items()}
        self._layouts = {k: v["layout"] for k, v in ranking.items() if v.get("layout") is not None}
        self._plan_stale = True
        for i, entry in enumerate(project.images):
            item = QListWidgetItem(entry.relpath)
            item.setData(ROLE_KEY, entry.key)
            item.setData(ROLE_INDEX, i)
            item.setData(ROLE_NAME, entry.relpath)
            self.list.addItem(item)
            self._items[entry.key] = item
            self.set_status(entry.key, project.status(entry.key))
        self._reorder()

    def set_status(self, key: str, status: str) -> None:
        item = self._items.get(key)
        if item is None:
            return
        before = self._status.get(key)
        self._status[key] = status
        if before == "unlabelled" and status == "predicted" and key in self._uncertainty:
            # a newly predicted image joins the images waiting to be corrected (its status can
            # arrive after its ranking: the open image's is reported once its save is done)
            self._plan_stale = True
            if self.order() == "plan":
                self._resort.start()
        item.setIcon(swatch(STATUS_COLORS.get(status, (120, 120, 120)), size=10))
        self._describe(key)
        item.setForeground(QColor(150, 150, 150) if status == "unlabelled" else QColor())

    def set_uncertainty(self, key: str, value: float, layout: np.ndarray | None = None) -> None:
        """A new prediction's mean uncertainty (0 sure … 1 no idea) and scene layout
        (``core.batch_pick.layout``; None: unknown)."""
        if key not in self._items:
            return
        self._uncertainty[key] = float(value)
        if layout is not None:
            self._layouts[key] = layout
        else:
            self._layouts.pop(key, None)
        self._plan_stale = True
        self._describe(key)
        if self.order() in ("uncertainty", "plan"):
            self._resort.start()

    def uncertainty(self, key: str) -> float | None:
        return self._uncertainty.get(key)

    def _describe(self, key: str) -> None:
        item = self._items[key]
        u = self._uncertainty.get(key)
        status = self._status.get(key, "unlabelled")
        name = item.data(ROLE_NAME)
        item.setToolTip(f"{name}: {status}" + (f", uncertainty {u:.3f}" if u is not None else ""))
        item.setText(f"{name}   {u:.3f}" if u is not None and self.order() in ("uncertainty", "plan") else name)

    # -- order ---------------------------------------------------------------------------
    def order(self) -> str:
        return self.order_box.currentData()

    def set_order(self, order: str) -> None:
        i = self.order_box.findData(order)
        if i >= 0:
            self.order_box.setCurrentIndex(i)

    @Slot()
    def _order_chosen(self) -> None:
        self._plan_stale = True
        for key in self._items:
            self._describe(key)
        self._reorder()
        self.order_changed.emit(self.order())

    def _sort_key(self, key: str):
        index = self._items[key].data(ROLE_INDEX)
        if self.order() == "plan":
            place = self._plan.get(key)
            if place is not None:
                return (0, place, index)
        if self.order() in ("uncertainty", "plan"):
            u = self._uncertainty.get(key)
            return (1, -u, index) if u is not None else (2, 0.0, index)
        return (0, 0.0, index)

    def _make_plan(self) -> None:
        """The "next to label" places of the images not yet corrected (status "predicted")."""
        waiting = {k: u for k, u in self._uncertainty.items()
                   if k in self._items and self._status.get(k) == "predicted"}
        self._plan = {k: i for i, k in enumerate(batch_order(waiting, self._layouts, PLAN_BATCHES))}
        self._plan_stale = False

    @Slot()
    def _reorder(self) -> None:
        if self.order() == "plan" and self._plan_stale:
            self._make_plan()
        keys = sorted(self._items, key=self._sort_key)
        if keys == self.keys():
            return
        current = self.list.currentItem()
        self.list.blockSignals(True)
        while self.list.count():
            self.list.takeItem(0)
        for k in keys:
            self.list.addItem(self._items[k])
        if current is not None:
            self.list.setCurrentItem(current)
        self.list.blockSignals(False)

    def keys(self) -> list[str]:
        """The keys in the order shown."""
        return [self.list.item(i).data(ROLE_KEY) for i in range(self.list.count())]

    def most_uncertain(self, exclude: str | None = None, statuses=("predicted",)) -> str | None:
        """The ranked image with the highest uncertainty whose status is one of ``statuses``
        (by default images a person has not edited or reviewed yet), other than ``exclude``; in the
        "next to label" order, the first such image of the plan."""
        if self.order() == "plan":
            if self._plan_stale:
                self._make_plan()
            planned = [k for k in sorted(self._plan, key=self._plan.get)
                       if k != exclude and self._status.get(k) in statuses]
            if planned:
                return planned[0]
        ranked = [(u, k) for k, u in self._uncertainty.items()
                  if k != exclude and k in self._items and self._status.get(k) in statuses]
        return max(ranked, key=lambda t: (t[0], -self._items[t[1]].data(ROLE_INDEX)))[1] if ranked else None

    # -- selection -------------------------------------------------------------------------
    def set_current(self, key: str) -> None:
        item = self._items.get(key)
        if item is not None:
            self.list.blockSignals(True)
            self.list.setCurrentItem(item)
            self.list.blockSignals(False)

    def neighbour(self, key: str | None, step: int) -> str | None:
        keys = self.keys()
        if not keys:
            return None
        i = keys.index(key) if key in keys else -1
        j = i + step
        return keys[j] if 0 <= j < len(keys) else None

    @Slot()
    def _activated(self, item) -> None:
        self.image_activated.emit(item.data(ROLE_KEY))
