"""COCO panoptic export.

Layout::

    <out>/panoptic_train.json, <out>/panoptic_val.json
    <out>/panoptic_train/<name>.png, <out>/panoptic_val/<name>.png   segment ids as RGB
    <out>/<image path in the project>                                 the images

A pixel's segment id is ``R + 256·G + 256²·B`` of its PNG colour; 0 is
unlabelled (background class, void).  A thing class's instance k has segment
id k (1..65535); a stuff class, and the pixels of a thing class outside any
instance (``iscrowd`` 1), have segment id 65536 + class id.  Thing classes are
``thing_classes`` or, by default, the classes that have an instance in any
exported image.
"""

from __future__ import annotations

import json
import os

import cv2
import numpy as np

from segstudio import __version__
from segstudio.core.annotation import mask_box
from segstudio.errors import FormatError
from segstudio.formats.coco import category_id_map, coco_categories
from segstudio.formats.coco_json import CocoJsonWriter
from segstudio.formats.export_common import DatasetWriter, ExportSummary, run_export
from segstudio.formats.export_images import export_image
from segstudio.formats.names import flat_names
from segstudio.formats.staging import CancelFn, ProgressFn

STUFF_BASE = 65536


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    ids = ids.astype(np.int64)
    return np.stack([ids % 256, ids // 256 % 256, ids // 65536 % 256], axis=-1).astype(np.uint8)


def instance_classes(project, keys) -> set[int]:
    """Classes that have at least one instance in the saved tables (reads only the small JSON files)."""
    found: set[int] = set()
    for key in keys:
        meta = project.annotation_files(key)["meta"]
        try:
            found.update(int(d["class_id"]) for d in json.loads(meta.read_text("utf-8")).get("instances", []))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise FormatError(f"{meta}: unreadable annotation ({e})") from None
    return found


def segment_map(ann, cats: set[int], thing: set[int], cat_id: dict[int, int] | None = None
                ) -> tuple[np.ndarray, list[dict]]:
    """(segment ids H×W int64, segments_info) for one annotation; ``cat_id``: class id -> category id."""
    lut_cls = np.zeros(256, np.int64)
    for c in cats:
        lut_cls[c] = STUFF_BASE + c
    seg = lut_cls[ann.class_map]
    thing_ids = [k for k, inst in ann.instances.items() if inst.class_id in cats and inst.class_id in thing]
    if thing_ids:
        lut = np.zeros(max(thing_ids) + 1, np.int64)
        lut[thing_ids] = thing_ids
        inst = ann.instance_map
        inside = (inst > 0) & (inst <= max(thing_ids))
        ids_here = lut[np.where(inside, inst, 0)]
        seg = np.where(ids_here > 0, ids_here, seg)
    ids, counts = np.unique(seg, return_counts=True)
    infos = []
    for sid, area in zip(ids.tolist(), counts.tolist()):
        if sid == 0:
            continue
        y0, x0, y1, x1 = mask_box(seg == sid)
        if sid >= STUFF_BASE:
            cls, crowd = sid - STUFF_BASE, int((sid - STUFF_BASE) in thing)
        else:
            cls, crowd = ann.instances[sid].class_id, 0
        category = int(cls if cat_id is None else cat_id[cls])
        infos.append({"id": int(sid), "category_id": category, "iscrowd": crowd, "area": int(area),
                      "bbox": [x0, y0, x1 - x0, y1 - y0]})
    return seg, infos


class PanopticWriter(DatasetWriter):
    format = "panoptic"

    def __init__(self, thing_classes=None):
        self.thing_classes = thing_classes
        self.writers: dict[str, CocoJsonWriter] = {}

    def begin(self, plan, folder, summary) -> None:
        super().begin(plan, folder, summary)
        labels = plan.project.labels
        self.cat_id = category_id_map(labels)
        self.cats = set(self.cat_id)
        thing = (set(self.thing_classes) if self.thing_classes is not None
                 else instance_classes(plan.project, plan.keys))
        self.thing = thing & self.cats
        self.names = flat_names(plan.keys)
        head = {"info": {"description": f"exported by segstudio {__version__}", "version": "1.0"},
                "licenses": [], "categories": coco_categories(labels, self.thing)}
        for s in ("train", "val"):
            (folder / f"panoptic_{s}").mkdir()
            self.writers[s] = CocoJsonWriter(folder / f"panoptic_{s}.json", head)

    def add(self, item) -> None:
        image_id, key, ann, src = item.image_id, item.key, item.ann, item.src
        rel = self.plan.project.entry(key).relpath
        self.count_image(export_image(src, self.folder / rel, (ann.width, ann.height)))
        s = self.plan.split_of(key)
        seg, infos = segment_map(ann, self.cats, self.thing, self.cat_id)
        png = f"{self.names[key]}.png"
        ok, buf = cv2.imencode(".png", id_to_rgb(seg)[:, :, ::-1])
        if not ok:
            raise FormatError(f"{src}: could not encode its panoptic PNG")
        (self.folder / f"panoptic_{s}" / png).write_bytes(buf.tobytes())
        self.writers[s].add("images", {"id": image_id, "file_name": rel, "width": ann.width, "height": ann.height})
        self.writers[s].add("annotations", {"image_id": image_id, "file_name": png, "segments_info": infos})
        self.summary.annotations += len(infos)

    def finish(self) -> None:
        for w in self.writers.values():
            w.close()

    def close(self) -> None:
        for w in self.writers.values():
            w.abandon()


def export_panoptic(project, out_dir: str | os.PathLike, val_fraction: float = 0.2, seed: int = 0,
                    overwrite: bool = False, keys=None, thing_classes=None,
                    progress: ProgressFn | None = None, cancelled: CancelFn | None = None,
                    keep_split: bool = True) -> ExportSummary:
    """Write the project's labelled images as COCO panoptic (train and val) in ``out_dir``."""
    return run_export(project, [(PanopticWriter(thing_classes), out_dir)], val_fraction, seed, overwrite, keys,
                      progress, cancelled, keep_split)[0]
