"""Import a Pascal VOC segmentation dataset.

SOURCE may be the folder holding ``VOCdevkit``, ``VOCdevkit`` itself, or the
``VOC2012`` (any year) folder.  Every ``SegmentationClass/<id>.png`` with its
``JPEGImages/<id>.jpg`` is imported; ``SegmentationObject/<id>.png``, when
present, gives the instances (object k -> instance k, its class read from the
class mask).  The label set is ``labels`` or the dataset's ``labels.txt`` or
Pascal VOC's 21 classes.  The train/val lists are kept in the project so a
later export writes the same split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import VOID_ID, LabelSet
from segstudio.errors import FormatError
from segstudio.formats.imports.common import ImportItem, Notes, apply_lut, build_project, class_lut
from segstudio.formats.labelfile import read_label_file
from segstudio.formats.masks import read_label_png
from segstudio.formats.names import inside
from segstudio.formats.project import Project
from segstudio.formats.staging import CancelFn, ProgressFn


def find_voc_folder(source: Path) -> Path:
    candidates = [source, source / "VOCdevkit"]
    for base in (source, source / "VOCdevkit"):
        if base.is_dir():
            candidates += sorted(p for p in base.iterdir() if p.is_dir() and p.name.startswith("VOC"))
    for c in candidates:
        if (c / "SegmentationClass").is_dir() and (c / "JPEGImages").is_dir():
            return c
    raise FormatError(f"{source}: not a Pascal VOC folder (no SegmentationClass/ and JPEGImages/ in it, in "
                      "VOCdevkit/ or in VOCdevkit/VOC2012/); give the folder that holds them")


def _read_list(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text") from None


def voc_annotation(class_png: Path, object_png: Path | None, lut: np.ndarray, labels: LabelSet) -> Annotation:
    cm = apply_lut(read_label_png(class_png), lut, str(class_png), labels)
    if object_png is None or not object_png.exists():
        return Annotation(cm)
    obj = read_label_png(object_png)
    if obj.shape != cm.shape:
        raise FormatError(f"{object_png}: is {obj.shape[1]}×{obj.shape[0]} but {class_png} is "
                          f"{cm.shape[1]}×{cm.shape[0]}; masks of one image must have the same size")
    inst = np.where(obj == VOID_ID, 0, obj).astype(np.int32)
    instances = {}
    for k in np.unique(inst).tolist():
        if k == 0:
            continue
        classes = np.unique(cm[inst == k])
        if classes.size != 1 or classes[0] == VOID_ID:
            raise FormatError(f"{object_png}: object {k} covers classes {classes.tolist()} in {class_png.name}; "
                              "an object must have one class - fix the masks")
        instances[k] = Instance(int(classes[0]), None, "user")
    return Annotation(cm, inst, instances)


def import_voc(source: str | os.PathLike, project_dir: str | os.PathLike, labels: LabelSet | None = None,
               id_map: dict[int, int] | None = None, progress: ProgressFn | None = None,
               cancelled: CancelFn | None = None) -> Project:
    """Create a project in ``project_dir`` from the Pascal VOC dataset at ``source``."""
    voc = find_voc_folder(Path(source))
    if labels is None:
        labels = read_label_file(voc / "labels.txt") if (voc / "labels.txt").exists() else LabelSet.voc()
    lut = class_lut(labels, id_map)
    notes = Notes()
    items = []
    for png in sorted((voc / "SegmentationClass").glob("*.png")):
        stem = png.stem
        jpg = inside(voc / "JPEGImages", f"{stem}.jpg", str(png))
        if not jpg.exists():
            raise FormatError(f"{png}: its image {jpg} is missing; copy it there or remove the mask")
        inside(voc / "SegmentationClass", png.name, str(png))
        obj = voc / "SegmentationObject" / png.name
        items.append(ImportItem(jpg, f"{stem}.jpg",
                                lambda h, w, png=png, obj=obj: voc_annotation(png, obj, lut, labels)))
    if not items:
        raise FormatError(f"{voc / 'SegmentationClass'}: no PNG masks to import")
    stems = {it.rel[:-4] for it in items}
    settings: dict = {"import": {"format": "voc", "source": str(voc)}}
    sets = voc / "ImageSets" / "Segmentation"
    if (sets / "train.txt").exists() or (sets / "val.txt").exists():
        split = {}
        for name in ("train", "val"):
            listed = _read_list(sets / f"{name}.txt") if (sets / f"{name}.txt").exists() else []
            split[name] = [s for s in listed if s in stems]
            missing = len(listed) - len(split[name])
            if missing:
                notes.add(f"{sets / (name + '.txt')}: {missing} listed images have no mask and were not imported")
        settings["split"] = split
    return build_project(project_dir, labels, items, settings, [Path(source), voc], notes, progress, cancelled)
