"""Pascal VOC segmentation export.

Layout (what ``torchvision.datasets.VOCSegmentation(out, year="2012")`` reads)::

    <out>/VOCdevkit/VOC2012/JPEGImages/<name>.jpg
    <out>/VOCdevkit/VOC2012/SegmentationClass/<name>.png   palette PNG: class ids, 255 void
    <out>/VOCdevkit/VOC2012/SegmentationObject/<name>.png  palette PNG: 1..N per instance,
                                                           0 none, 255 void
    <out>/VOCdevkit/VOC2012/ImageSets/Segmentation/{train,val,trainval}.txt
    <out>/VOCdevkit/VOC2012/labels.txt                      the class list (label-file format)

``<name>`` is the project key with ``/`` replaced by ``__``.  Only labelled
images (status predicted, edited or reviewed) are exported; annotations are
read one at a time.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from segstudio.core.labels import VOID_ID, voc_palette
from segstudio.errors import FormatError
from segstudio.formats.export_common import DatasetWriter, ExportSummary, run_export
from segstudio.formats.export_images import export_image
from segstudio.formats.names import flat_names
from segstudio.formats.staging import CancelFn, ProgressFn

VOC_SUBDIR = ("VOCdevkit", "VOC2012")
MAX_VOC_OBJECTS = 254  # object ids 1..254 in an 8-bit PNG; 255 is void
PNG_LEVEL = 1  # fast zlib level: exports are write-once


def palette_png(ids: np.ndarray, palette: np.ndarray) -> bytes:
    h, w = ids.shape
    im = Image.frombuffer("P", (w, h), np.ascontiguousarray(ids, np.uint8).tobytes(), "raw", "P", 0, 1)
    im.putpalette(np.asarray(palette, np.uint8).reshape(-1).tolist())
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=PNG_LEVEL)
    return buf.getvalue()


def is_palette_png(data: bytes, width: int, height: int, palette: np.ndarray) -> bool:
    """True for an 8-bit, non-interlaced palette PNG of this size whose palette is exactly ``palette``."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return False
    w, h = struct.unpack(">II", data[16:24])
    bit_depth, color_type, interlace = data[24], data[25], data[28]
    if (w, h, bit_depth, color_type, interlace) != (width, height, 8, 3, 0):
        return False
    pos = 8
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        if kind == b"PLTE":
            return data[pos + 8:pos + 8 + length] == np.asarray(palette, np.uint8).tobytes()
        if kind in (b"IDAT", b"IEND"):
            return False
        pos += 12 + length
    return False


def object_ids(ann, source: str) -> np.ndarray:
    """VOC object map: instances numbered 1..N in id order, 0 elsewhere, 255 on void."""
    ids = sorted(ann.instances)
    if len(ids) > MAX_VOC_OBJECTS:
        raise FormatError(f"{source}: {len(ids)} instances; Pascal VOC object masks hold at most "
                          f"{MAX_VOC_OBJECTS}. Export it to COCO instead")
    if ids and max(ids) <= 255:  # the common case: a 256-entry table lookup (fast)
        lut = np.zeros(256, np.uint8)
        lut[ids] = np.arange(1, len(ids) + 1, dtype=np.uint8)
        obj = cv2.LUT(ann.instance_map.astype(np.uint8), lut)
    elif ids:
        lut = np.zeros(max(ids) + 1, np.uint8)
        lut[ids] = np.arange(1, len(ids) + 1, dtype=np.uint8)
        obj = lut[ann.instance_map]
    else:
        obj = np.zeros(ann.shape, np.uint8)
    obj[ann.class_map == VOID_ID] = VOID_ID
    return obj


class VocWriter(DatasetWriter):
    format = "voc"

    def begin(self, plan, folder, summary) -> None:
        super().begin(plan, folder, summary)
        self.root = folder.joinpath(*VOC_SUBDIR)
        self.dirs = {d: self.root / d for d in ("JPEGImages", "SegmentationClass", "SegmentationObject")}
        for d in self.dirs.values():
            d.mkdir(parents=True)
        self.names = flat_names(plan.keys)
        self.class_pal = plan.project.labels.palette()
        self.obj_pal = voc_palette()

    def add(self, item) -> None:
        ann, src, name = item.ann, item.src, self.names[item.key]
        self.count_image(export_image(src, self.dirs["JPEGImages"] / f"{name}.jpg", (ann.width, ann.height),
                                      jpeg=True))
        # The project already stores the class map as a palette PNG: reuse it when it is exactly what VOC wants.
        data = item.saved_bytes("class")
        if data is None or not is_palette_png(data, ann.width, ann.height, self.class_pal):
            data = palette_png(ann.class_map, self.class_pal)
        (self.dirs["SegmentationClass"] / f"{name}.png").write_bytes(data)
        obj = object_ids(ann, str(src))
        (self.dirs["SegmentationObject"] / f"{name}.png").write_bytes(palette_png(obj, self.obj_pal))
        self.summary.annotations += len(ann.instances)

    def finish(self) -> None:
        plan, names = self.plan, self.names
        sets = self.root / "ImageSets" / "Segmentation"
        sets.mkdir(parents=True)
        for set_name, members in (("train", plan.train), ("val", plan.val), ("trainval", plan.keys)):
            (sets / f"{set_name}.txt").write_text("".join(names[k] + "\n" for k in members), "utf-8")
        (self.root / "labels.txt").write_text(plan.project.labels.to_text(), "utf-8")
        renamed = [(k, n) for k, n in names.items() if n != k]
        if renamed:
            self.summary.notes.append(f"{len(renamed)} images renamed to flat VOC names, e.g. "
                                      f"'{renamed[0][0]}' -> '{renamed[0][1]}'")


def export_voc(project, out_dir: str | os.PathLike, val_fraction: float = 0.2, seed: int = 0,
               overwrite: bool = False, keys=None, progress: ProgressFn | None = None,
               cancelled: CancelFn | None = None) -> ExportSummary:
    """Write the project's labelled images as a Pascal VOC 2012 segmentation dataset in ``out_dir``."""
    return run_export(project, [(VocWriter(), out_dir)], val_fraction, seed, overwrite, keys, progress,
                      cancelled)[0]
