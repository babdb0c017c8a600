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
from segstudio.formats.fileaccess import missing_problem
from segstudio.formats.labelfile import read_label_file
from segstudio.formats.masks import read_label_png
from segstudio.formats.readers.voc import find_voc_root
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
    problem = missing_problem(path, "data")
    if problem is not None:
        raise SegStudioError(f"{path}: {problem}; give a project folder, a VOC root, an image folder "
                             "with --masks DIR, or a COCO JSON")
    if path.is_file():
        if path.suffix.lower() != ".json":
            raise SegStudioError(f"{path}: a file must be a COCO instances JSON")
        if spec.task != "instance":
            raise SegStudioError(f"{path}: a COCO JSON trains instance models; choose an instance model "
                                 "(e.g. maskrcnn_resnet50_fpn)")
        data = coco_dataset(path, Path(spec.images) if spec.images else None, _labels_of(spec, None))
        return _split(spec, data, None, data.labels, "coco")
    if spec.masks:
        return _mask_folders(spec, path)
    voc = find_voc_root(path)
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
def _voc(spec: DataSpec, voc: Path) -> OpenedData:
    """A VOC root read by ``formats.readers.voc`` (as ``segstudio import`` reads it)."""
    from segstudio.formats.readers.voc import read_voc

    if spec.task != "semantic":
        raise SegStudioError(f"{voc}: trains semantic models here; for instances export COCO instead")
    data = read_voc(voc, _labels_of(spec, None))
    n = len(data.labels)
    samples = [SemanticSample(s.stem, s.image,
                              (lambda s=s: remap_mask(data.class_map(s), n, spec.void_ids, str(s.class_png))),
                              _voc_objects(s.object_png) if s.object_png and s.object_png.exists() else None)
               for s in data.samples]
    dataset = SemanticDataset(samples, data.labels, name=data.root.name)
    split = data.split or {}
    own = (split["train"], split["val"]) if split.get("train") and split.get("val") else None
    return _split(spec, dataset, None, data.labels, "voc", own)


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
    damaged = project.damaged()
    if damaged:  # never train without a labelled image silently
        raise SegStudioError(f"{len(damaged)} annotation{'s' if len(damaged) > 1 else ''} of {path} cannot be "
                             f"read: {next(iter(damaged.values()))}")
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
