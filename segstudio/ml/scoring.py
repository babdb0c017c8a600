"""Score a prediction ``Pipeline`` on labelled images.

``score_semantic`` predicts each image of a semantic dataset (untransformed
``(image, mask)`` items) through the pipeline — working size, tiling and CRF
exactly as ``predict`` and the app use them — and fills the core confusion
matrix at the images' full resolution.  ``score_instances`` does the same for
Mask R-CNN and runs COCOeval (segm).  ``evaluate --model``, the trainer's
validation, the app's hand-over check and the CRF fit all score this way, so
their numbers can be compared.  Under torchrun each process scores its share
and the counts are summed.
"""

from __future__ import annotations

import contextlib
import io
from typing import Callable

import numpy as np

from segstudio.core.metrics import ConfusionMatrix, Metrics

Progress = Callable[[int, int], None]


def _raw(dataset, i: int):
    return dataset.read(i) if hasattr(dataset, "read") else dataset[i]


def _key(dataset, i: int) -> str:
    samples = getattr(dataset, "samples", None)
    return str(getattr(samples[i], "key", i)) if samples is not None else str(i)


def _all_reduce(matrix: np.ndarray, device) -> np.ndarray:
    import torch
    import torch.distributed as dist

    comm = device if dist.get_backend() == "nccl" else torch.device("cpu")
    t = torch.from_numpy(matrix).to(comm)
    dist.all_reduce(t)
    return t.cpu().numpy()


def score_semantic(pipeline, dataset, num_classes: int | None = None, *, progress: Progress | None = None,
                   should_stop=None, rank: int = 0, world: int = 1, ignore: int = 255) -> Metrics:
    """Metrics of ``pipeline`` on ``dataset`` (class ids of ``pipeline.labels``; ``ignore`` not counted)."""
    n = int(num_classes or len(pipeline.labels))
    cm = ConfusionMatrix(n, ignore)
    model = pipeline.predictor.model
    was_training = model.training
    model.eval()
    indices = range(rank, len(dataset), world)
    if progress is not None:  # the count shows before the first image's work, not after it
        progress(0, len(indices))
    try:
        for done, i in enumerate(indices, 1):
            if should_stop is not None and should_stop():
                break
            image, mask = _raw(dataset, i)
            result = pipeline.predict(image, source=_key(dataset, i))
            cm.update(np.asarray(mask), result.class_map)  # void / unknown predictions count as misses
            if progress is not None:
                progress(done, len(indices))
    finally:
        model.train(was_training)
    if world > 1:
        cm.matrix = _all_reduce(cm.matrix, pipeline.device)
    return cm.compute()


def instance_results(image_id: int, result) -> list[dict]:
    """COCO detection results (RLE masks on the full image) of an ``InstanceResult``."""
    from segstudio.formats.coco_masks import encode_rle

    H, W = result.size
    out = []
    for inst in result.instances:
        full = np.zeros((H, W), np.uint8, order="F")
        x0, y0, x1, y1 = inst.box
        full[y0:y1, x0:x1] = inst.mask
        out.append({"image_id": int(image_id), "category_id": int(inst.class_id), "segmentation": encode_rle(full),
                    "score": float(inst.score)})
    return out


SEGM_NAMES = ["segm_ap", "segm_ap50", "segm_ap75", "segm_ap_small", "segm_ap_medium", "segm_ap_large"]


def coco_segm(gt_coco, results: list[dict]) -> dict:
    """COCOeval segm summary of ``results`` against ``gt_coco``."""
    from pycocotools.cocoeval import COCOeval

    if not results or not gt_coco.getAnnIds():
        return {n: 0.0 for n in SEGM_NAMES} | {"detections": len(results)}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt_coco.loadRes(results)
        ev = COCOeval(gt_coco, dt, "segm")
        ev.params.imgIds = sorted({r["image_id"] for r in results} | set(gt_coco.getImgIds()))
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [max(0.0, float(s)) for s in ev.stats[:6]]
    return dict(zip(SEGM_NAMES, stats)) | {"detections": len(results)}


def score_instances(pipeline, dataset, gt_coco, *, progress: Progress | None = None, should_stop=None) -> dict:
    """COCOeval segm of ``pipeline`` on an instance dataset (its samples carry COCO image ids)."""
    results: list[dict] = []
    for i in range(len(dataset)):
        if should_stop is not None and should_stop():
            break
        image, target = _raw(dataset, i)
        result = pipeline.predict(image, source=_key(dataset, i))
        results.extend(instance_results(target["image_id"], result))
        if progress is not None:
            progress(i + 1, len(dataset))
    return coco_segm(gt_coco, results)
