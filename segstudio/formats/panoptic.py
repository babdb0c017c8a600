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
from pathlib import Path

import cv2
import numpy as np

from segstudio import __version__
from segstudio.errors import FormatError
from segstudio.formats.coco import category_ids, coco_categories
from segstudio.formats.coco_json import CocoJsonWriter
from segstudio.formats.export_common import ExportSummary, export_keys, project_split
from segstudio.formats.export_images import export_image
from segstudio.formats.names import flat_names
from segstudio.formats.staging import CancelFn, Job, ProgressFn, StagedFolder, check_disjoint

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


def segment_map(ann, cats: set[int], thing: set[int]) -> tuple[np.ndarray, list[dict]]:
    """(segment ids H×W int64, segments_info) for one annotation."""
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
        mask = seg == sid
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if sid >= STUFF_BASE:
            cls, crowd = sid - STUFF_BASE, int((sid - STUFF_BASE) in thing)
        else:
            cls, crowd = ann.instances[sid].class_id, 0
        infos.append({"id": int(sid), "category_id": int(cls), "iscrowd": crowd, "area": int(area),
                      "bbox": [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]})
    return seg, infos


def export_panoptic(project, out_dir: str | os.PathLike, val_fraction: float = 0.2, seed: int = 0,
                    overwrite: bool = False, keys=None, thing_classes=None,
                    progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> ExportSummary:
    """Write the project's labelled images as COCO panoptic (train and val) in ``out_dir``."""
    out_dir = Path(out_dir)
    check_disjoint(out_dir, project.root, what="export")
    keys = export_keys(project, keys)
    if not keys:
        raise FormatError(f"{project.root}: no labelled images to export; label or predict some first")
    train, val = project_split(project, keys, val_fraction, seed)
    val_set = set(val)
    cats = set(category_ids(project.labels))
    thing = set(thing_classes) if thing_classes is not None else instance_classes(project, keys)
    thing &= cats
    names = flat_names(sorted(keys))
    summary = ExportSummary("panoptic", str(out_dir), len(train), len(val))
    head = {"info": {"description": f"exported by segstudio {__version__}", "version": "1.0"},
            "licenses": [], "categories": coco_categories(project.labels, thing)}
    job = Job(len(keys), progress, cancelled)
    with StagedFolder(out_dir, overwrite, "export") as tmp:
        writers = {}
        for s in ("train", "val"):
            (tmp / f"panoptic_{s}").mkdir()
            writers[s] = CocoJsonWriter(tmp / f"panoptic_{s}.json", head)
        try:
            for image_id, key in enumerate(sorted(keys), start=1):
                job.check()
                ann = project.load_annotation(key)
                src = project.image_path(key)
                if ann is None:
                    raise FormatError(f"{src}: marked labelled but its annotation files are missing; "
                                      "open the project to re-save it")
                rel = project.entry(key).relpath
                copied = export_image(src, tmp / rel, (ann.width, ann.height))
                summary.copied_images += copied
                summary.reencoded_images += not copied
                s = "val" if key in val_set else "train"
                seg, infos = segment_map(ann, cats, thing)
                png = f"{names[key]}.png"
                ok, buf = cv2.imencode(".png", id_to_rgb(seg)[:, :, ::-1])
                if not ok:
                    raise FormatError(f"{src}: could not encode its panoptic PNG")
                (tmp / f"panoptic_{s}" / png).write_bytes(buf.tobytes())
                writers[s].add("images", {"id": image_id, "file_name": rel, "width": ann.width,
                                          "height": ann.height})
                writers[s].add("annotations", {"image_id": image_id, "file_name": png, "segments_info": infos})
                summary.annotations += len(infos)
                del ann, seg
                job.step(key)
        finally:
            for w in writers.values():
                w.close()
    return summary
