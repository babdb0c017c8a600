"""Small annotated projects for the import/export tests (made on the fly, tiny images)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import LabelSet
from segstudio.formats.project import Project


def random_annotation(rng: np.random.Generator, h: int, w: int, n_classes: int, n_inst: int = 3,
                      holes: bool = True, void: bool = True, stuff: bool = True) -> Annotation:
    """Semantic blobs of classes, non-overlapping instances on top, some void."""
    cm = np.zeros((h, w), np.uint8)
    im = np.zeros((h, w), np.int32)
    instances = {}
    if stuff:
        cls = int(rng.integers(1, n_classes))
        cv2.rectangle(cm, (0, h - h // 4), (w - 1, h - 1), cls, -1)
    next_id = int(rng.integers(1, 5))
    for _ in range(n_inst):
        cls = int(rng.integers(1, n_classes))
        m = np.zeros((h, w), np.uint8)
        cx, cy = int(rng.integers(4, w - 4)), int(rng.integers(4, h - 4))
        cv2.ellipse(m, (cx, cy), (int(rng.integers(2, w // 3)), int(rng.integers(2, h // 3))),
                    float(rng.integers(0, 180)), 0, 360, 1, -1)
        if holes and rng.random() < 0.5:
            cv2.circle(m, (cx, cy), 1, 0, -1)
        m = m.astype(bool) & (im == 0)
        if not m.any():
            continue
        cm[m] = cls
        im[m] = next_id
        instances[next_id] = Instance(cls, None, "user")
        next_id += int(rng.integers(1, 4))
    if void:
        cm[:2, :5] = 255
        im[:2, :5] = 0
        keep = set(np.unique(im).tolist()) - {0}
        instances = {k: v for k, v in instances.items() if k in keep}
    return Annotation(cm, im, instances, status="edited")


def write_image(path: Path, h: int, w: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def make_project(root: Path, names=("a.jpg", "b.png", "sub/c.jpg", "d.jpg", "e.png"), h: int = 40, w: int = 56,
                 labels: LabelSet | None = None, seed: int = 0, unlabelled: tuple[str, ...] = (), **kw) -> Project:
    root.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(names + unlabelled):
        write_image(root / n, h, w, seed + i)
    labels = labels or LabelSet.voc()
    p = Project.create(root, labels)
    rng = np.random.default_rng(seed)
    for n in names:
        key = p.key_for_path(root / n)
        p.save_annotation(key, random_annotation(rng, h, w, len(labels), **kw))
    return p
