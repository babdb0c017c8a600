"""Open training data: a segstudio project, a Pascal VOC root, image + mask
folders with a label file, or a COCO instances JSON.

``open_data(DataSpec(...))`` returns ``OpenedData(train, val, labels, task,
summary)``.  Where the data has its own split (VOC ``ImageSets``, a separate
val folder) it is used; otherwise ``split_keys`` makes a deterministic one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segstudio.core.labels import LabelSet
from segstudio.errors import FormatError, SegStudioError
from segstudio.formats.labelfile import read_label_file
from segstudio.formats.masks import read_label_png
from segstudio.ml.data.instance import InstanceDataset, InstanceSample, coco_dataset
from segstudio.ml.data.semantic import SemanticDataset, SemanticSample, remap_mask
from segstudio.ml.data.split import split_keys

TRAINABLE_STATUSES = ("edited", "reviewed")


@dataclass
class DataSpec:
    path: str | Path
    task: str = "semantic"                  # "semantic" | "instance"
    masks: str | Path | None = None         # mask folder (image + mask folders)
    labels: LabelSet | str | Path | None = None
    void_ids: tuple[int, ...] = ()
    val_images: str | Path | None = None    # explicit validation folders (image + mask layout)
    val_masks: str | Path | None = None
    images: str | Path | None = None        # COCO: image folder (default: the JSON's folder)
    val_fraction: float = 0.1
    seed: int = 0
    include_predicted: bool = False         # project: also train on unreviewed predictions
    limit: int | None = None                # use only the first N training images (after the split)


@dataclass
class OpenedData:
    train: SemanticDataset | InstanceDataset
    val: SemanticDataset | InstanceDataset
    labels: LabelSet
    task: str
    summary: dict = field(default_factory=dict)


def _labels_of(spec: DataSpec, default: LabelSet | None) -> LabelSet | None:
    if isinstance(spec.labels, LabelSet):
        return spec.labels
    if spec.labels:
        return read_label_file(spec.labels)
    return default


def open_data(spec: DataSpec) -> OpenedData:
    path = Path(spec.path)
    if not path.exists():
        raise SegStudioError(f"{path}: not found; give a project folder, a VOC root, an image folder "
                             "with --masks DIR, or a COCO JSON")
    if path.is_file():
        if path.suffix.lower() != ".json":
            raise SegStudioError(f"{path}: a file must be a COCO instances JSON")
        if spec.task != "instance":
            raise SegStudioError(f"{path}: a COCO JSON trains instance models; choose an instance model "
                                 "(e.g. maskrcnn_resnet50_fpn)")
        data = coco_dataset(path, Path(spec.images) if spec.images else None)
        return _split(spec, data, None, data.labels, "coco")
    if spec.masks:
        return _mask_folders(spec, path)
    voc = _voc_dir(path)
    if voc is not None:
        return _voc(spec, voc)
    if (path / "segstudio.json").exists() or (path / "annotations").is_dir():
        return _project(spec, path)
    raise SegStudioError(f"{path}: not a segstudio project, a VOC root (JPEGImages + SegmentationClass) "
                         "or a COCO JSON; for an image folder with a mask folder give --masks DIR")


def _split(spec: DataSpec, data, val_data, labels: LabelSet, kind: str, own_split=None) -> OpenedData:
    if val_data is None:
        if own_split is not None:
            train_keys, val_keys = own_split
        else:
            train_keys, val_keys = split_keys(data.keys, spec.val_fraction, spec.seed)
        val_data = data.subset(val_keys, name=f"{data.name} (val)")
        data = data.subset(train_keys, name=f"{data.name} (train)")
    if spec.limit is not None:
        data = data.subset(data.keys[:spec.limit], name=data.name)
    if len(data) == 0:
        raise SegStudioError(f"{spec.path}: no training images")
    summary = {"source": kind, "path": str(Path(spec.path)), "train_images": len(data),
               "val_images": len(val_data), "classes": len(labels), "seed": spec.seed,
               "val_fraction": spec.val_fraction}
    return OpenedData(data, val_data, labels, spec.task, summary)


# -- image + mask folders ---------------------------------------------------------
def _folder_dataset(images: Path, masks: Path, labels: LabelSet, void_ids) -> SemanticDataset:
    from segstudio.formats.project import scan_images

    if not images.is_dir():
        raise SegStudioError(f"{images}: image folder not found")
    if not masks.is_dir():
        raise SegStudioError(f"{masks}: mask folder not found")
    samples, missing = [], []
    n = len(labels)
    for entry in scan_images(images):
        mask_path = masks / f"{entry.key}.png"
        if not mask_path.exists():
            missing.append(entry.relpath)
            continue

        def read(p=mask_path):
            return remap_mask(read_label_png(p, labels.palette()), n, void_ids, str(p))

        samples.append(SemanticSample(entry.key, images / entry.relpath, read))
    if not samples:
        raise SegStudioError(f"{masks}: no mask PNG matches an image of {images} by name")
    if missing and len(missing) > len(samples):
        raise SegStudioError(f"{masks}: {len(missing)} images have no mask (first: {missing[0]}); "
                             "masks must be PNGs with the images' names")
    return SemanticDataset(samples, labels, name=images.name)


def _mask_folders(spec: DataSpec, path: Path) -> OpenedData:
    if spec.task != "semantic":
        raise SegStudioError("image + mask folders train semantic models; choose a semantic model")
    labels = _labels_of(spec, None)
    if labels is None:
        raise SegStudioError("image + mask folders need --labels FILE naming the classes (one per line, id order)")
    data = _folder_dataset(path, Path(spec.masks), labels, spec.void_ids)
    val = None
    if spec.val_images or spec.val_masks:
        if not (spec.val_images and spec.val_masks):
            raise SegStudioError("give both --val-images DIR and --val-masks DIR")
        val = _folder_dataset(Path(spec.val_images), Path(spec.val_masks), labels, spec.void_ids)
    return _split(spec, data, val, labels, "folders")


# -- Pascal VOC -------------------------------------------------------------------------
def _voc_dir(path: Path) -> Path | None:
    candidates = [path, path / "VOC2012", path / "VOCdevkit" / "VOC2012"]
    candidates += sorted(path.glob("VOC20*")) + sorted(path.glob("VOCdevkit/VOC20*"))
    for c in candidates:
        if (c / "JPEGImages").is_dir() and (c / "SegmentationClass").is_dir():
            return c
    return None


def _voc(spec: DataSpec, voc: Path) -> OpenedData:
    if spec.task != "semantic":
        raise SegStudioError(f"{voc}: trains semantic models here; for instances export COCO instead")
    labels = _labels_of(spec, LabelSet.voc())
    n = len(labels)
    sets = voc / "ImageSets" / "Segmentation"

    def read_ids(name: str) -> list[str] | None:
        f = sets / f"{name}.txt"
        return [ln.strip() for ln in f.read_text("utf-8").splitlines() if ln.strip()] if f.exists() else None

    train_ids, val_ids = read_ids("train"), read_ids("val")
    all_ids = read_ids("trainval") or sorted(
        {*(train_ids or []), *(val_ids or [])} or {p.stem for p in (voc / "SegmentationClass").glob("*.png")})
    samples = []
    for key in dict.fromkeys(all_ids + (train_ids or []) + (val_ids or [])):
        img = voc / "JPEGImages" / f"{key}.jpg"
        mask = voc / "SegmentationClass" / f"{key}.png"
        if not img.exists() or not mask.exists():
            raise FormatError(f"{voc}: image {key} is listed but {img.name if not img.exists() else mask.name} "
                              "is missing")

        def read(p=mask):
            return remap_mask(read_label_png(p, labels.palette()), n, spec.void_ids, str(p))

        objects = voc / "SegmentationObject" / f"{key}.png"
        samples.append(SemanticSample(key, img, read, _voc_objects(objects) if objects.exists() else None))
    data = SemanticDataset(samples, labels, name=voc.name)
    own = (train_ids, val_ids) if train_ids and val_ids else None
    return _split(spec, data, None, labels, "voc", own)


def _voc_objects(path: Path):
    """VOC ``SegmentationObject``: palette index = object number, 255 = the void outline (no instance)."""
    def read():
        from segstudio.core.labels import voc_palette

        ids = read_label_png(path, voc_palette())
        return np.where(ids == 255, 0, ids).astype(np.int32)

    return read


# -- segstudio project ----------------------------------------------------------------------
def _project(spec: DataSpec, path: Path) -> OpenedData:
    from segstudio.formats.project import Project

    project = Project.open(path)
    labels = _labels_of(spec, project.labels)
    if len(labels) != len(project.labels):
        raise SegStudioError(f"{path}: the project has {len(project.labels)} classes but --labels gives "
                             f"{len(labels)}; leave --labels out to use the project's")
    statuses = TRAINABLE_STATUSES + (("predicted",) if spec.include_predicted else ())
    keys = [k for k, st in project.statuses().items() if st in statuses]
    if not keys:
        raise SegStudioError(f"{path}: no image is edited or reviewed yet; correct a few masks first "
                             "(or pass --include-predicted to train on unreviewed predictions)")
    n = len(labels)

    def load(key):
        ann = project.load_annotation(key)
        if ann is None:
            raise FormatError(f"{project.image_path(key)}: its annotation disappeared while training")
        return ann

    if spec.task == "semantic":
        samples = [SemanticSample(k, project.image_path(k),
                                  (lambda k=k: remap_mask(load(k).class_map, n, spec.void_ids, k)),
                                  (lambda k=k: load(k).instance_map))
                   for k in keys]
        data = SemanticDataset(samples, labels, name=path.name)
    else:
        def read(k):
            ann = load(k)
            ids = sorted(i for i, inst in ann.instances.items() if 0 < inst.class_id < n)
            if not ids:
                return np.zeros((0,) + ann.class_map.shape, np.uint8), np.zeros(0, np.int64)
            masks = np.stack([(ann.instance_map == i).astype(np.uint8) for i in ids])
            return masks, np.array([ann.instances[i].class_id for i in ids], np.int64)

        samples = [InstanceSample(k, project.image_path(k), idx + 1, (lambda k=k: read(k)))
                   for idx, k in enumerate(keys)]
        data = InstanceDataset(samples, labels, name=path.name)
    return _split(spec, data, None, labels, "project")
