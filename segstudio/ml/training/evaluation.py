"""Validation: the core confusion-matrix metrics for semantic models, COCOeval
segm AP for Mask R-CNN.  Under torchrun each process scores its share of the
images and the counts are summed across processes."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import torch
import torch.nn.functional as F

from segstudio.core.metrics import ConfusionMatrix, Metrics


def autocast_for(device: torch.device, enabled: bool = True):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


@torch.inference_mode()
def predict_semantic(model, image: torch.Tensor, out_size: tuple[int, int], device: torch.device,
                     amp: bool = True) -> np.ndarray:
    """Class map (uint8 H×W at ``out_size``) for one normalised C×H×W image."""
    with autocast_for(device, amp):
        logits = model(image[None].to(device))["out"]
    if tuple(logits.shape[-2:]) != tuple(out_size):
        logits = F.interpolate(logits.float(), size=out_size, mode="bilinear", align_corners=False)
    return logits.argmax(1)[0].to(torch.uint8).cpu().numpy()


def _shard(n: int, rank: int, world: int) -> range:
    return range(rank, n, world)


def evaluate_semantic(model, dataset, num_classes: int, device: torch.device, amp: bool = True,
                      rank: int = 0, world: int = 1, gate=None, should_stop=None) -> Metrics:
    """Score ``model`` on ``dataset`` (items: normalised image, full-size int64 mask)."""
    was_training = model.training
    model.eval()
    cm = ConfusionMatrix(num_classes, 255)
    try:
        for i in _shard(len(dataset), rank, world):
            if should_stop is not None and should_stop():
                break
            image, mask = dataset[i]
            with gate() if gate is not None else contextlib.nullcontext():
                pred = predict_semantic(model, image, tuple(mask.shape[-2:]), device, amp)
            cm.update(mask.numpy(), pred)
    finally:
        model.train(was_training)
    if world > 1:
        t = torch.from_numpy(cm.matrix).to(_comm_device(device))
        torch.distributed.all_reduce(t)
        cm.matrix = t.cpu().numpy()
    return cm.compute()


def _comm_device(device: torch.device) -> torch.device:
    import torch.distributed as dist

    return device if dist.get_backend() == "nccl" else torch.device("cpu")


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
    from pycocotools.cocoeval import COCOeval

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
    names = ["segm_ap", "segm_ap50", "segm_ap75", "segm_ap_small", "segm_ap_medium", "segm_ap_large"]
    if not results or not gt_coco.getAnnIds():
        return {n: 0.0 for n in names} | {"detections": len(results)}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt_coco.loadRes(results)
        ev = COCOeval(gt_coco, dt, "segm")
        ev.params.imgIds = sorted({r["image_id"] for r in results} | set(gt_coco.getImgIds()))
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [max(0.0, float(s)) for s in ev.stats[:6]]
    return dict(zip(names, stats)) | {"detections": len(results)}
