"""Import a Pascal VOC segmentation dataset.

The folder is read by ``formats.readers.voc`` (the reader training and
evaluation use too): SOURCE may be the folder holding ``VOCdevkit``,
``VOCdevkit`` itself, or the ``VOC2012`` (any year) folder.  Every
``SegmentationClass/<id>.png`` with its ``JPEGImages/<id>.jpg`` is imported;
``SegmentationObject/<id>.png``, when present, gives the instances (object k
-> instance k, its class read from the class mask).  The label set is
``labels`` or the dataset's ``labels.txt`` or Pascal VOC's 21 classes; colour
masks are decoded through its colours.  The train/val lists are kept in the
project so a later export writes the same split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import VOID_ID, LabelSet
from segstudio.errors import FormatError
from segstudio.formats.imports.common import ImportItem, Notes, apply_lut, build_project, class_lut
from segstudio.formats.masks import read_label_png
from segstudio.formats.project import Project
from segstudio.formats.readers.voc import VocData, VocSample, read_voc
from segstudio.formats.staging import CancelFn, ProgressFn


def voc_annotation(data: VocData, sample: VocSample, lut: np.ndarray) -> Annotation:
    cm = apply_lut(data.class_map(sample), lut, str(sample.class_png), data.labels)
    if sample.object_png is None or not sample.object_png.exists():
        return Annotation(cm)
    obj = read_label_png(sample.object_png)
    if obj.shape != cm.shape:
        raise FormatError(f"{sample.object_png}: is {obj.shape[1]}×{obj.shape[0]} but {sample.class_png} is "
                          f"{cm.shape[1]}×{cm.shape[0]}; masks of one image must have the same size")
    inst = np.where(obj == VOID_ID, 0, obj).astype(np.int32)
    instances = {}
    for k in np.unique(inst).tolist():
        if k == 0:
            continue
        classes = np.unique(cm[inst == k])
        if classes.size != 1 or classes[0] == VOID_ID:
            raise FormatError(f"{sample.object_png}: object {k} covers classes {classes.tolist()} in "
                              f"{sample.class_png.name}; an object must have one class - fix the masks")
        instances[k] = Instance(int(classes[0]), None, "user")
    return Annotation(cm, inst, instances)


def import_voc(source: str | os.PathLike, project_dir: str | os.PathLike, labels: LabelSet | None = None,
               id_map: dict[int, int] | None = None, progress: ProgressFn | None = None,
               cancelled: CancelFn | None = None) -> Project:
    """Create a project in ``project_dir`` from the Pascal VOC dataset at ``source``."""
    data = read_voc(source, labels)
    lut = class_lut(data.labels, id_map)
    notes = Notes()
    for note in data.notes:
        notes.add(note)
    items = [ImportItem(s.image, f"{s.stem}.jpg", lambda h, w, s=s: voc_annotation(data, s, lut))
             for s in data.samples]
    settings: dict = {"import": {"format": "voc", "source": str(data.root)}}
    if data.split is not None:
        settings["split"] = data.split
    return build_project(project_dir, data.labels, items, settings, [Path(source), data.root], notes, progress,
                         cancelled)
