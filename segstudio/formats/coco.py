"""COCO instances export.

Layout::

    <out>/instances_train.json, <out>/instances_val.json
    <out>/<image path in the project>      the images, beside the JSON files

Categories are the project's classes (a background class 0, when the label
set has one, and void are not categories).  Category ids start at 1: a
class's id when the label set has a background class, else class id + 1
(CamVid's Sky, class 0, is category 1).  ``info.segstudio`` keeps the label
set and, where it has a background class, each image's void pixels are kept
as an RLE in ``images[i].segstudio_void`` (other readers ignore both), so
segstudio's import gets back the same classes, instances and masks without
options.  Every instance becomes one annotation (``iscrowd`` 0) with an
RLE mask, or polygons when ``polygons=True`` and the mask has no holes and
the polygons rasterise back to exactly the same pixels.  Pixels of a
category that belong to no instance (semantic-only annotations) become, by
``unassigned``: "crowd" - one ``iscrowd`` 1 annotation per class and image;
"components" - one instance per connected component (8-connected); "skip".
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from segstudio import __version__
from segstudio.core.labels import VOID_ID
from segstudio.errors import FormatError
from segstudio.formats.coco_json import CocoJsonWriter
from segstudio.formats.coco_masks import encode_rle, exact_polygons, rle_area_bbox, rles_by_value
from segstudio.formats.export_common import DatasetWriter, ExportSummary, run_export
from segstudio.formats.export_images import export_image
from segstudio.formats.readers.coco import INFO_KEY, VOID_KEY
from segstudio.formats.staging import CancelFn, ProgressFn

UNASSIGNED_MODES = ("crowd", "components", "skip")


def category_ids(labels) -> list[int]:
    """Class ids exported as categories: all but a background class 0."""
    return [c.id for c in labels if not (c.id == 0 and labels.has_background)]


def category_id_map(labels) -> dict[int, int]:
    """Class id -> category id; category ids start at 1."""
    offset = 0 if labels.has_background else 1
    return {c: c + offset for c in category_ids(labels)}


def coco_categories(labels, thing: set[int] | None = None) -> list[dict]:
    cats = []
    for cid, cat_id in category_id_map(labels).items():
        c = labels[cid]
        d = {"id": cat_id, "name": c.name, "supercategory": c.name}
        if thing is not None:
            d["isthing"] = int(c.id in thing)
            d["color"] = [int(v) for v in c.color]
        cats.append(d)
    return cats


def _with_polygons(rle: dict, mask_fn, polygons: bool, stats: dict) -> tuple[object, int, list[float]]:
    area, bbox = rle_area_bbox(rle)
    if polygons and area:
        polys = exact_polygons(mask_fn(), _box_from_bbox(bbox))
        if polys is not None:
            stats["polygons"] += 1
            return polys, area, bbox
        stats["rle_kept"] += 1
    return rle, area, bbox


def _box_from_bbox(bbox: list[float]) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in bbox)
    return y, x, y + h, x + w


def image_annotations(ann, cats: set[int], polygons: bool = False, unassigned: str = "crowd",
                      stats: dict | None = None):
    """Yield (category_id, segmentation, area, bbox, iscrowd) for one annotation."""
    stats = stats if stats is not None else {"polygons": 0, "rle_kept": 0, "skipped_px": 0}
    h, w = ann.shape
    # The transposed maps hold the pixels in COCO's column-major order.
    inst_t = cv2.transpose(ann.instance_map)
    ids = [k for k in sorted(ann.instances) if ann.instances[k].class_id in cats]
    rles = rles_by_value(inst_t, ids, h, w) if ids else {}
    for k in ids:
        if k in rles:  # an instance in the table without pixels is not an object
            seg, area, bbox = _with_polygons(rles[k], lambda k=k: (inst_t == k).T, polygons, stats)
            yield ann.instances[k].class_id, seg, area, bbox, 0
    free_t = cv2.transpose(ann.class_map)
    free_t[inst_t > 0] = VOID_ID
    counts = np.bincount(free_t.ravel(), minlength=256)
    classes = [c for c in np.flatnonzero(counts[:VOID_ID]).tolist() if c in cats]
    if unassigned == "skip":
        stats["skipped_px"] += int(sum(counts[c] for c in classes))
    elif unassigned == "crowd":
        for cls, rle in rles_by_value(free_t, classes, h, w).items():
            area, bbox = rle_area_bbox(rle)
            yield cls, rle, area, bbox, 1
    else:
        for cls in classes:
            n, comp = cv2.connectedComponents(np.ascontiguousarray((free_t == cls).T, dtype=np.uint8),
                                              connectivity=8)
            for i in range(1, n):
                mask = comp == i
                seg, area, bbox = _with_polygons(encode_rle(mask), lambda m=mask: m, polygons, stats)
                yield cls, seg, area, bbox, 0


class CocoWriter(DatasetWriter):
    format = "coco"

    def __init__(self, polygons: bool = False, unassigned: str = "crowd"):
        if unassigned not in UNASSIGNED_MODES:
            raise FormatError(f"unassigned must be one of {', '.join(UNASSIGNED_MODES)}, got {unassigned!r}")
        self.polygons, self.unassigned = polygons, unassigned
        self.writers: dict[str, CocoJsonWriter] = {}

    def begin(self, plan, folder, summary) -> None:
        super().begin(plan, folder, summary)
        labels = plan.project.labels
        self.cat_id = category_id_map(labels)
        self.cats = set(self.cat_id)
        self.keep_void = labels.has_background  # without one, uncovered pixels are void anyway
        head = {"info": {"description": f"exported by segstudio {__version__}", "version": "1.0",
                         INFO_KEY: {"labels": labels.to_json(), "background_class": labels.has_background}},
                "licenses": [], "categories": coco_categories(labels)}
        self.writers = {s: CocoJsonWriter(folder / f"instances_{s}.json", head) for s in ("train", "val")}
        self.stats = {"polygons": 0, "rle_kept": 0, "skipped_px": 0}
        self.ann_id = 0

    def add(self, item) -> None:
        image_id, key, ann, src = item.image_id, item.key, item.ann, item.src
        rel = self.plan.project.entry(key).relpath
        self.count_image(export_image(src, self.folder / rel, (ann.width, ann.height)))
        w = self.writers[self.plan.split_of(key)]
        image = {"id": image_id, "file_name": rel, "width": ann.width, "height": ann.height}
        if self.keep_void:
            void = ann.class_map == VOID_ID
            if void.any():
                image[VOID_KEY] = encode_rle(void)
        w.add("images", image)
        for cls, seg, area, bbox, crowd in image_annotations(ann, self.cats, self.polygons, self.unassigned,
                                                             self.stats):
            self.ann_id += 1
            w.add("annotations", {"id": self.ann_id, "image_id": image_id, "category_id": self.cat_id[cls],
                                  "segmentation": seg, "area": area, "bbox": bbox, "iscrowd": crowd})

    def finish(self) -> None:
        for w in self.writers.values():
            w.close()
        self.summary.annotations = self.ann_id
        if self.polygons:
            self.summary.notes.append(f"{self.stats['polygons']} masks written as polygons, {self.stats['rle_kept']} "
                                      "kept as RLE (holes, or a polygon would have changed pixels)")
        if self.stats["skipped_px"]:
            self.summary.notes.append(f"{self.stats['skipped_px']} pixels of categories outside any instance were "
                                      "not exported (unassigned='skip')")

    def close(self) -> None:
        for w in self.writers.values():
            w.abandon()


def export_coco(project, out_dir: str | os.PathLike, val_fraction: float = 0.2, seed: int = 0,
                overwrite: bool = False, keys=None, polygons: bool = False, unassigned: str = "crowd",
                progress: ProgressFn | None = None, cancelled: CancelFn | None = None,
                keep_split: bool = True) -> ExportSummary:
    """Write the project's labelled images as COCO instances (train and val JSON) in ``out_dir``."""
    return run_export(project, [(CocoWriter(polygons, unassigned), out_dir)], val_fraction, seed, overwrite, keys,
                      progress, cancelled, keep_split)[0]
