"""Training data sources, the split and the transforms."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import LabelSet
from segstudio.errors import FormatError, SegStudioError
from segstudio.formats.masks import write_label_png
from segstudio.formats.project import Project
from segstudio.ml.data import DataSpec, open_data, split_keys
from segstudio.ml.training import transforms as T
from tests.ml.training_data import make_mask_folders, make_sample


def test_split_is_deterministic_and_independent_of_order():
    keys = [f"img{i:03d}" for i in range(50)]
    train, val = split_keys(keys, 0.2, seed=3)
    assert len(val) == 10 and len(train) == 40 and not set(train) & set(val)
    train2, val2 = split_keys(list(reversed(keys)), 0.2, seed=3)
    assert set(val2) == set(val) and set(train2) == set(train)
    assert set(split_keys(keys, 0.2, seed=4)[1]) != set(val)
    # adding images keeps the old val images where they were (when the count rounds the same)
    assert set(split_keys(keys + ["zzz"], 0.2, seed=3)[1]) <= set(val) | {"zzz"}
    assert split_keys(["a", "b"], 0.1) in ((["a"], ["b"]), (["b"], ["a"]))
    assert split_keys(["a"], 0.5) == (["a"], [])


def test_mask_folders_map_void_ids_and_reject_unknown_ids(tmp_path):
    images, masks, labels = make_mask_folders(tmp_path, n=6)
    data = open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,), val_fraction=0.34))
    assert data.task == "semantic" and data.labels.names == ["background", "square", "disc"]
    assert len(data.train) == 4 and len(data.val) == 2
    image, mask = data.train[0]
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 1, 2, 255} and (mask[:2] == 255).all()
    # without --void the id 3 is outside the 3-class label set: a clear error naming the file
    raw = open_data(DataSpec(images, masks=masks, labels=labels, val_fraction=0.34))
    with pytest.raises(FormatError, match=r"im00\d\.png: holds class id 3.*--void 3"):
        raw.train[0]
    with pytest.raises(SegStudioError, match="--labels FILE"):
        open_data(DataSpec(images, masks=masks))
    with pytest.raises(SegStudioError, match="--masks DIR"):
        open_data(DataSpec(images))
    # an explicit validation folder replaces the split
    sep = open_data(DataSpec(images, masks=masks, labels=labels, void_ids=(3,), val_images=images, val_masks=masks))
    assert len(sep.train) == 6 and len(sep.val) == 6


def test_project_trains_on_edited_and_reviewed_images(tmp_path):
    rng = np.random.default_rng(1)
    labels = LabelSet(["background", "square", "disc"])
    project = Project.create(tmp_path / "proj", labels)
    for i, status in enumerate(["edited", "reviewed", "predicted", "edited", "unlabelled"]):
        img, mask = make_sample(rng)
        Image.fromarray(img).save(tmp_path / "proj" / f"p{i}.png")
        project.rescan()
        if status != "unlabelled":
            ids = np.zeros(mask.shape, np.int32)
            ids[mask == 2] = 1
            ann = Annotation(mask, ids, {1: Instance(2, None, "user")}, status=status)
            project.save_annotation(f"p{i}", ann)
    data = open_data(DataSpec(tmp_path / "proj", val_fraction=0.34))
    assert sorted(data.train.keys + data.val.keys) == ["p0", "p1", "p3"]
    image, mask = data.train[0]
    assert mask.shape == image.shape[:2] and set(np.unique(mask)) <= {0, 1, 2}
    with_pred = open_data(DataSpec(tmp_path / "proj", include_predicted=True))
    assert len(with_pred.train) + len(with_pred.val) == 4
    inst = open_data(DataSpec(tmp_path / "proj", task="instance", val_fraction=0.34))
    image, target = inst.train[0]
    assert target["masks"].shape[0] == 1 and target["labels"].tolist() == [2]
    assert target["boxes"].shape == (1, 4) and target["boxes"][0, 2] > target["boxes"][0, 0]


def test_voc_root_uses_its_own_split(tmp_path):
    voc = tmp_path / "VOCdevkit" / "VOC2012"
    for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / d).mkdir(parents=True)
    rng = np.random.default_rng(2)
    names = [f"2007_{i:06d}" for i in range(4)]
    for n in names:
        img, mask = make_sample(rng)
        mask[0, :] = 255
        Image.fromarray(img).save(voc / "JPEGImages" / f"{n}.jpg")
        write_label_png(voc / "SegmentationClass" / f"{n}.png", mask, LabelSet.voc().palette())
    (voc / "ImageSets/Segmentation/train.txt").write_text("\n".join(names[:3]) + "\n")
    (voc / "ImageSets/Segmentation/val.txt").write_text(names[3] + "\n")
    data = open_data(DataSpec(tmp_path))
    assert data.train.keys == names[:3] and data.val.keys == names[3:]
    assert len(data.labels) == 21
    _, mask = data.val[0]
    assert (mask[0] == 255).all() and set(np.unique(mask)) <= {0, 1, 2, 255}


def _coco_file(tmp_path):
    rng = np.random.default_rng(3)
    images, anns = [], []
    for i in range(3):
        img, mask = make_sample(rng)
        Image.fromarray(img).save(tmp_path / f"c{i}.png")
        images.append({"id": 10 + i, "file_name": f"c{i}.png", "width": 64, "height": 64})
        for cat, cls in ((7, 1), (9, 2)):
            ys, xs = np.nonzero(mask == cls)
            x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
            anns.append({"id": len(anns) + 1, "image_id": 10 + i, "category_id": cat, "iscrowd": 0,
                         "segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]], "area": float((x1 - x0) * (y1 - y0)),
                         "bbox": [x0, y0, x1 - x0, y1 - y0]})
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 9, "name": "disc"}, {"id": 7, "name": "square"}]}))
    return path


def test_coco_json_gives_contiguous_labels_and_a_coco_ground_truth(tmp_path):
    from segstudio.ml.data.instance import to_coco

    data = open_data(DataSpec(_coco_file(tmp_path), task="instance", val_fraction=0.34))
    assert data.labels.names == ["background", "square", "disc"]      # category-id order
    image, target = data.train[0]
    assert image.shape == (64, 64, 3) and sorted(target["labels"].tolist()) == [1, 2]
    assert target["masks"].shape == (2, 64, 64) and target["masks"].dtype == np.uint8
    gt = to_coco(data.val)
    assert len(gt.getImgIds()) == 1 and len(gt.getAnnIds()) == 2
    with pytest.raises(SegStudioError, match="instance model"):
        open_data(DataSpec(_coco_file(tmp_path), task="semantic"))


def test_train_transform_crops_pads_with_void_and_resizes_masks_by_nearest_neighbour():
    rng = np.random.default_rng(4)
    img, mask = make_sample(rng, 40)
    tf = T.SegmentationTrainTransform(crop_size=64, base_size=40, scale=(0.5, 0.5))
    x, m = tf(img, mask)
    assert x.shape == (3, 64, 64) and m.shape == (64, 64) and m.dtype == torch.int64
    assert (m[20:, :] == 255).all() and (m[:, 20:] == 255).all()          # 40 × 0.5 = 20 px of image
    assert set(torch.unique(m[:20, :20]).tolist()) <= {0, 1, 2}            # nearest: no blended ids
    assert torch.all(x[:, 20:, 20:] == T.normalize(torch.zeros(3, 1, 1)))  # image padded with 0 before norm
    big = T.SegmentationTrainTransform(crop_size=32, base_size=40, scale=(2.0, 2.0), hflip=0.0)
    x, m = big(img, mask)
    assert x.shape == (3, 32, 32) and set(torch.unique(m).tolist()) <= {0, 1, 2}
    ex, em = T.SegmentationEvalTransform(size=20)(img, mask)
    assert ex.shape == (3, 20, 20) and em.shape == (40, 40)
    mean = T.normalize(T.to_tensor(np.full((2, 2, 3), 255, np.uint8)))
    assert torch.allclose(mean[:, 0, 0], torch.tensor([(1 - .485) / .229, (1 - .456) / .224, (1 - .406) / .225]))
