"""Export a project in several formats in one pass: ``export_all``.

The dispatcher sits above the writers (``voc``, ``coco``, ``panoptic``) and the
pass they share (``export_common``), so those modules never import each other
in a circle.
"""

from __future__ import annotations

import os

from segstudio.errors import SegStudioError
from segstudio.formats.coco import CocoWriter
from segstudio.formats.export_common import ExportSummary, run_export
from segstudio.formats.panoptic import PanopticWriter
from segstudio.formats.staging import CancelFn, ProgressFn
from segstudio.formats.voc import VocWriter


def export_all(project, outputs: dict[str, str | os.PathLike], val_fraction: float = 0.2, seed: int = 0,
               overwrite: bool = False, keys=None, progress: ProgressFn | None = None,
               cancelled: CancelFn | None = None, keep_split: bool = True, skip_damaged: bool = False,
               **options) -> dict[str, ExportSummary]:
    """Several formats in one pass: ``outputs`` = {"voc": dir, "coco": dir, "panoptic": dir}.

    ``options`` go to the writers that take them (``polygons``, ``unassigned``, ``thing_classes``).
    """
    makers = {"voc": lambda: VocWriter(),
              "coco": lambda: CocoWriter(options.get("polygons", False), options.get("unassigned", "crowd")),
              "panoptic": lambda: PanopticWriter(options.get("thing_classes"))}
    unknown = sorted(set(outputs) - set(makers))
    if unknown:
        raise SegStudioError(f"unknown export format(s) {', '.join(unknown)}; use {', '.join(makers)}")
    targets = [(makers[fmt](), out) for fmt, out in outputs.items()]
    summaries = run_export(project, targets, val_fraction, seed, overwrite, keys, progress, cancelled, keep_split,
                           skip_damaged)
    return {s.format: s for s in summaries}
