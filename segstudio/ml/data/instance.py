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


def load_coco(json_path: Path):
    from pycocotools.coco import COCO

    if not json_path.is_file():
        raise FormatError(f"{json_path}: COCO JSON not found")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return COCO(str(json_path))
    except (ValueError, KeyError, TypeError) as e:
        raise FormatError(f"{json_path}: not a COCO instances file ({e})") from None


def coco_dataset(json_path: Path, images_dir: Path | None = None) -> InstanceDataset:
    """The images and instances of a COCO JSON; categories become ids 1..K in category-id order."""
    coco = load_coco(json_path)
    images_dir = images_dir or json_path.parent
    cats = sorted(coco.loadCats(coco.getCatIds()), key=lambda c: c["id"])
    if not cats:
        raise FormatError(f"{json_path}: has no categories")
    cat_to_label = {c["id"]: i + 1 for i, c in enumerate(cats)}
    labels = LabelSet(["background"] + [c["name"] for c in cats], name=json_path.stem)
    samples = []
    for img_id in sorted(coco.getImgIds()):
        info = coco.loadImgs(img_id)[0]
        path = images_dir / info["file_name"]
        if not path.is_file():
            raise FormatError(f"{json_path}: image {info['file_name']} not found in {images_dir}; "
                              "give the image folder with --images DIR")

        def read(img_id=img_id, info=info):
            anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=img_id)) if not a.get("iscrowd", 0)]
            h, w = info["height"], info["width"]
            masks = np.stack([coco.annToMask(a) for a in anns]) if anns else np.zeros((0, h, w), np.uint8)
            return masks, np.array([cat_to_label[a["category_id"]] for a in anns], np.int64)

        samples.append(InstanceSample(Path(info["file_name"]).with_suffix("").as_posix(), path, img_id, read))
    return InstanceDataset(samples, labels, name=json_path.name)


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
