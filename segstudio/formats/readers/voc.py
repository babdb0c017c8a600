"""Reading Pascal VOC segmentation folders: the one reader behind import, training and evaluation.

A VOC root is a folder with ``JPEGImages/`` and ``SegmentationClass/``; it
is found given itself, ``VOCdevkit`` or the folder holding ``VOCdevkit``.
Every ``SegmentationClass/<id>.png`` is a sample with its
``JPEGImages/<id>.jpg`` (a mask without its image is an error) and, when
present, ``SegmentationObject/<id>.png`` (object k -> instance k).  The
label set is the one given, else the root's ``labels.txt``, else Pascal
VOC's 21 classes; colour (RGB) masks are decoded through its colours.
``ImageSets/Segmentation/{train,val}.txt`` give the split.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segstudio.core.labels import LabelSet
from segstudio.errors import FormatError
from segstudio.formats.labelfile import read_label_file, read_text
from segstudio.formats.masks import read_label_png
from segstudio.formats.names import inside


@dataclass(frozen=True)
class VocSample:
    stem: str
    image: Path
    class_png: Path
    object_png: Path | None


@dataclass
class VocData:
    root: Path
    labels: LabelSet
    samples: list[VocSample]                       # sorted by stem
    split: dict[str, list[str]] | None = None      # stems listed in train.txt / val.txt that have a mask
    notes: list[str] = field(default_factory=list)

    def class_map(self, sample: VocSample) -> np.ndarray:
        """The sample's class ids as stored (palette / grayscale, or RGB through the label colours)."""
        return read_label_png(sample.class_png, self.labels.palette())


def find_voc_root(source: str | os.PathLike) -> Path | None:
    """The folder holding JPEGImages/ and SegmentationClass/, or None."""
    source = Path(source)
    candidates = [source, source / "VOCdevkit"]
    for base in (source, source / "VOCdevkit"):
        if base.is_dir():
            candidates += sorted(p for p in base.iterdir() if p.is_dir() and p.name.startswith("VOC"))
    for c in candidates:
        if (c / "SegmentationClass").is_dir() and (c / "JPEGImages").is_dir():
            return c
    return None


def _read_list(path: Path) -> list[str]:
    return [line.strip() for line in read_text(path, "image list").splitlines() if line.strip()]


def read_voc(source: str | os.PathLike, labels: LabelSet | None = None) -> VocData:
    root = find_voc_root(source)
    if root is None:
        raise FormatError(f"{source}: not a Pascal VOC folder (no SegmentationClass/ and JPEGImages/ in it, in "
                          "VOCdevkit/ or in VOCdevkit/VOC2012/); give the folder that holds them")
    if labels is None:
        labels = read_label_file(root / "labels.txt") if (root / "labels.txt").exists() else LabelSet.voc()
    samples = []
    for png in sorted((root / "SegmentationClass").glob("*.png")):
        inside(root / "SegmentationClass", png.name, str(png))
        jpg = inside(root / "JPEGImages", f"{png.stem}.jpg", str(png))
        if not jpg.exists():
            raise FormatError(f"{png}: its image {jpg} is missing; copy it there or remove the mask")
        obj = root / "SegmentationObject" / png.name
        samples.append(VocSample(png.stem, jpg, png, obj if obj.exists() else None))
    if not samples:
        raise FormatError(f"{root / 'SegmentationClass'}: no PNG masks")
    data = VocData(root, labels, samples)
    sets = root / "ImageSets" / "Segmentation"
    if (sets / "train.txt").exists() or (sets / "val.txt").exists():
        stems = {s.stem for s in samples}
        data.split = {}
        for name in ("train", "val"):
            listed = _read_list(sets / f"{name}.txt") if (sets / f"{name}.txt").exists() else []
            data.split[name] = [s for s in listed if s in stems]
            missing = len(listed) - len(data.split[name])
            if missing:
                data.notes.append(f"{sets / (name + '.txt')}: {missing} listed images have no mask and were "
                                  "left out")
    return data
