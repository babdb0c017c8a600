"""Instance segmentation samples (Mask R-CNN): a COCO instances JSON or a project.

``InstanceDataset[i]`` gives ``(image RGB uint8 H×W×3, target)`` with
``target = {"boxes": float32 N×4 (x0, y0, x1, y1), "labels": int64 N,
"masks": uint8 N×H×W, "image_id": int}``; labels are ids of the label set
(0 is background).  ``to_coco(dataset)`` builds the pycocotools ground truth
that COCOeval scores against.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from segstudio.core.labels import LabelSet
from segstudio.ml.data.base import SampleDataset
from segstudio.errors import FormatError
from segstudio.formats.images import load_image


@dataclass(frozen=True)
class InstanceSample:
    key: str
    image_path: Path
    image_id: int
    read_target: Callable[[], tuple[np.ndarray, np.ndarray]]  # (masks N×H×W uint8, labels N)


def target_from_masks(masks: np.ndarray, labels: np.ndarray, image_id: int) -> dict:
    keep = [i for i in range(len(masks)) if masks[i].any()]
    masks = masks[keep].astype(np.uint8) if keep else np.zeros((0,) + masks.shape[1:], np.uint8)
    labels = np.asarray(labels, np.int64)[keep] if keep else np.zeros(0, np.int64)
    boxes = np.zeros((len(masks), 4), np.float32)
    for i, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        boxes[i] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return {"boxes": boxes, "labels": labels, "masks": masks, "image_id": image_id}


class InstanceDataset(SampleDataset):
    def read(self, index: int) -> tuple[np.ndarray, dict]:
        s = self.samples[index]
        image = load_image(s.image_path)
        masks, labels = s.read_target()
        if masks.shape[1:] != image.shape[:2] and len(masks):
            raise FormatError(f"{s.key}: instance masks are {masks.shape[2]}×{masks.shape[1]} but the image "
                              f"{s.image_path} is {image.shape[1]}×{image.shape[0]}")
        if not len(masks):
            masks = np.zeros((0,) + image.shape[:2], np.uint8)
        return image, target_from_masks(masks, labels, s.image_id)


def coco_dataset(json_path: Path, images_dir: Path | None = None,
                 labels: LabelSet | None = None) -> InstanceDataset:
    """The images and instances of a COCO JSON, read by ``formats.readers.coco``: the same classes
    and masks as ``segstudio import`` gives (crowd regions are not objects)."""
    from segstudio.formats.readers.coco import instance_masks, read_coco

    coco = read_coco(json_path, images_dir, labels=labels)
    if len(coco.labels) < 2:
        raise FormatError(f"{json_path}: has no object categories to train on")
    samples = [InstanceSample(Path(img.file_name).with_suffix("").as_posix(), img.path, img.id,
                              (lambda img=img: instance_masks(coco, img)))
               for img in sorted(coco.images, key=lambda im: im.id)]
    return InstanceDataset(samples, coco.labels, name=json_path.name)


def to_coco(dataset: InstanceDataset):
    """A pycocotools COCO ground truth of the dataset (masks as RLE), for COCOeval."""
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    images, anns = [], []
    for i in range(len(dataset)):
        s = dataset.samples[i]
        masks, labels = s.read_target()
        h, w = masks.shape[1:] if len(masks) else _image_hw(s.image_path)
        images.append({"id": s.image_id, "width": int(w), "height": int(h), "file_name": s.key})
        t = target_from_masks(masks, labels, s.image_id) if len(masks) else None
        for m, lab, box in zip(*(t["masks"], t["labels"], t["boxes"]) if t else ([], [], [])):
            rle = mask_utils.encode(np.asfortranarray(m))
            rle["counts"] = rle["counts"].decode("ascii")
            x0, y0, x1, y1 = (float(v) for v in box)
            anns.append({"id": len(anns) + 1, "image_id": s.image_id, "category_id": int(lab),
                         "segmentation": rle, "area": float(m.sum()), "bbox": [x0, y0, x1 - x0, y1 - y0],
                         "iscrowd": 0})
    cats = [{"id": c.id, "name": c.name} for c in dataset.labels if c.id > 0]
    coco = COCO()
    coco.dataset = {"images": images, "annotations": anns, "categories": cats}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _image_hw(path: Path) -> tuple[int, int]:
    from segstudio.formats.images import image_size

    w, h = image_size(path)
    return h, w
