"""Validation of Mask R-CNN during training: COCOeval segm AP.  Under torchrun
each process scores its share of the images and the detections are gathered.

Semantic models are validated through the prediction pipeline
(``segstudio.ml.training.validation``), at the working size the card records.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch


def autocast_for(device: torch.device, enabled: bool = True):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def _shard(n: int, rank: int, world: int) -> range:
    return range(rank, n, world)


@torch.inference_mode()
def predict_instances(model, image: torch.Tensor, device: torch.device, amp: bool = True) -> dict:
    with autocast_for(device, amp):
        out = model([image.to(device)])[0]
    return {k: v.float().cpu() if v.is_floating_point() else v.cpu() for k, v in out.items()}


def coco_results(image_id: int, out: dict, mask_threshold: float = 0.5) -> list[dict]:
    from pycocotools import mask as mask_utils

    results = []
    masks = (out["masks"][:, 0] > mask_threshold).numpy().astype(np.uint8) if len(out["masks"]) else []
    for m, label, score in zip(masks, out["labels"].tolist(), out["scores"].tolist()):
        rle = mask_utils.encode(np.asfortranarray(m))
        rle["counts"] = rle["counts"].decode("ascii")
        results.append({"image_id": int(image_id), "category_id": int(label), "segmentation": rle,
                        "score": float(score)})
    return results


def evaluate_instance(model, dataset, gt_coco, device: torch.device, amp: bool = True, rank: int = 0,
                      world: int = 1, gate=None, should_stop=None) -> dict:
    """COCOeval segm on ``dataset`` against ``gt_coco``: {"segm_ap", "segm_ap50", "segm_ap75", ...}."""
    from segstudio.ml.scoring import coco_segm

    was_training = model.training
    model.eval()
    results = []
    try:
        for i in _shard(len(dataset), rank, world):
            if should_stop is not None and should_stop():
                break
            image, target = dataset[i]
            with gate() if gate is not None else contextlib.nullcontext():
                out = predict_instances(model, image, device, amp)
            results.extend(coco_results(target["image_id"], out))
    finally:
        model.train(was_training)
    if world > 1:
        gathered = [None] * world
        torch.distributed.all_gather_object(gathered, results)
        results = [r for part in gathered for r in part]
    return coco_segm(gt_coco, results)
