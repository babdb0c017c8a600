"""Run a loaded model on images: ``Predictor(loaded).predict(rgb)``.

Device: CUDA, then MPS, then CPU unless told.  The model runs in eval mode
under ``torch.inference_mode``; on CUDA also with autocast (bf16 where
supported, else fp16) and channels_last.  Semantic models get the weights'
preprocessing (resize so the short side is ``resize_size``, ImageNet
normalisation); when the working image is longer than ``max_side`` it is
predicted in overlapping ``tile``-sized windows whose logits are averaged.
The logits are resized back to the image with bilinear interpolation before
the argmax.  Mask R-CNN resizes internally; its instances are filtered by
score and mask thresholds and their classes mapped by name into the target
label set.  Every forward pass holds the device gate (see ``devices``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from segstudio.core.labels import LabelSet
from segstudio.errors import ModelError
from segstudio.ml.classmap import class_lut
from segstudio.ml.devices import device_gate, pick_device
from segstudio.ml.postprocess import upsampled_argmax
from segstudio.ml.results import InstanceResult, PredictedInstance, SemanticResult
from segstudio.ml.weights import LoadedModel


def as_rgb(image: Any, source: str = "image") -> np.ndarray:
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise ModelError(f"{source}: expected a uint8 image, got {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ModelError(f"{source}: expected an H×W×3 RGB image, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ModelError(f"{source}: the image is empty")
    a = a[:, :, :3]
    return a if a.flags.writeable else a.copy()  # torch wants writable memory (worker results are not)


def _windows(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    step = max(1, tile - overlap)
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


class Predictor:
    def __init__(self, loaded: LoadedModel, device: Any = "auto", labels: LabelSet | None = None,
                 resize: int | None = None, max_side: int | None = None, tile: int | None = None,
                 overlap: int | None = None, score_threshold: float | None = None,
                 mask_threshold: float | None = None, amp: bool = True, channels_last: bool = True):
        import torch

        self.loaded = loaded
        self.card = loaded.card
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.labels = labels or loaded.labels
        # model output index -> target label id (255: not in the target set)
        self.lut = np.full(256, 255, np.uint8)
        by_name = class_lut(loaded.labels, self.labels)
        for out, lid in enumerate(loaded.output_ids[:255]):
            if lid >= 0:
                self.lut[out] = by_name[lid]
        prep = loaded.preprocessing
        self.resize = prep.resize_size if resize is None else (resize or None)
        tiling = self.card.tile
        self.max_side = int(max_side or tiling.get("max_side", 2048))
        self.tile = int(tile or tiling.get("tile", 1024))
        self.overlap = int(overlap if overlap is not None else tiling.get("overlap", 128))
        th = self.card.thresholds
        self.score_threshold = float(th.get("score", 0.5) if score_threshold is None else score_threshold)
        self.mask_threshold = float(th.get("mask", 0.5) if mask_threshold is None else mask_threshold)
        cuda = self.device.type == "cuda"
        self.amp_dtype = None
        if amp and cuda:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.channels_last = channels_last and cuda
        model = loaded.model.eval().to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        if prep.mean is not None:
            std = torch.tensor(prep.std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
            mean = torch.tensor(prep.mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
            self._scale = 1.0 / (255.0 * std)
            self._shift = -mean / std
        if self.card.task == "instance":
            rh = model.roi_heads
            rh.score_thresh = self.score_threshold
            if self.resize:
                t = model.transform
                t.max_size = int(round(t.max_size * self.resize / t.min_size[0]))
                t.min_size = (int(self.resize),)

    @property
    def task(self) -> str:
        return self.card.task

    def _autocast(self):
        import torch

        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    # -- semantic ------------------------------------------------------
    def working_size(self, height: int, width: int) -> tuple[int, int]:
        if not self.resize:
            return height, width
        short, long_ = (height, width) if height <= width else (width, height)
        new_long = max(1, int(self.resize * long_ / short))
        return (self.resize, new_long) if height <= width else (new_long, self.resize)

    def preprocess(self, rgb: np.ndarray):
        """uint8 H×W×3 -> normalised float (1, 3, h, w) at the working size, on the device."""
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
        size = self.working_size(rgb.shape[0], rgb.shape[1])
        if self.device.type == "cpu":
            if size != tuple(x.shape[-2:]):  # uint8 antialiased resize has a fast CPU path
                x = F.interpolate(x.contiguous(memory_format=torch.channels_last), size=size,
                                  mode="bilinear", antialias=True, align_corners=False)
            x = x.float()
        else:
            x = x.to(self.device, non_blocking=True).float()
            if size != tuple(x.shape[-2:]):
                x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        x = x * self._scale + self._shift
        return x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)

    def _forward(self, x):
        with self._autocast():
            return self.model(x)["out"].float()

    def semantic_logits(self, x):
        """(C, h, w) float32 logits of a preprocessed batch of one, tiled if large."""
        import torch

        _, _, h, w = x.shape
        if max(h, w) <= self.max_side:
            return self._forward(x)[0]
        t = min(self.tile, max(h, w))
        acc = None
        count = torch.zeros((1, h, w), device=x.device)
        for y in _windows(h, t, self.overlap):
            for x0 in _windows(w, t, self.overlap):
                out = self._forward(x[:, :, y:y + t, x0:x0 + t])[0]
                if acc is None:
                    acc = torch.zeros((out.shape[0], h, w), device=x.device)
                acc[:, y:y + t, x0:x0 + t] += out
                count[:, y:y + t, x0:x0 + t] += 1
        return acc / count

    def _predict_semantic(self, rgb: np.ndarray) -> SemanticResult:
        import torch

        H, W = rgb.shape[:2]
        with torch.inference_mode(), device_gate(self.device):
            logits = self.semantic_logits(self.preprocess(rgb))
            n = logits.shape[0]
            lut = self.lut if n <= 256 else np.concatenate([self.lut, np.full(n - 256, 255, np.uint8)])
            class_map = upsampled_argmax(logits, (H, W), lut=lut)
            if self.device.type != "cpu":
                logits = logits.cpu()
        return SemanticResult(class_map, self.labels, logits, self.lut,
                              model=self.card.name, version=self.loaded.version)

    # -- instance ------------------------------------------------------
    def _predict_instance(self, rgb: np.ndarray) -> InstanceResult:
        import torch

        H, W = rgb.shape[:2]
        x = torch.from_numpy(rgb).permute(2, 0, 1).to(self.device).float().div_(255)
        with torch.inference_mode(), device_gate(self.device):
            with self._autocast():
                out = self.model([x])[0]
            boxes = out["boxes"].float().cpu().numpy()
            scores = out["scores"].float().cpu().numpy()
            classes = out["labels"].cpu().numpy()
            masks = out["masks"][:, 0].float().cpu() if len(scores) else None
        model_labels = self.loaded.labels
        instances, unmapped = [], set()
        for i in np.argsort(-scores, kind="stable"):
            if scores[i] < self.score_threshold:
                continue
            out_idx = int(classes[i])
            lid = int(self.loaded.output_ids[out_idx]) if out_idx < len(self.loaded.output_ids) else -1
            name = model_labels.name_of(lid) if lid >= 0 else f"output {out_idx}"
            target = int(self.lut[out_idx]) if out_idx < 256 else 255
            if target == 255:
                unmapped.add(name)
                continue
            x0, y0 = max(0, int(np.floor(boxes[i, 0]))), max(0, int(np.floor(boxes[i, 1])))
            x1, y1 = min(W, int(np.ceil(boxes[i, 2])) + 1), min(H, int(np.ceil(boxes[i, 3])) + 1)
            if x1 <= x0 or y1 <= y0:
                continue
            prob = masks[i, y0:y1, x0:x1].numpy()
            mask = prob >= self.mask_threshold
            if not mask.any():
                continue
            instances.append(PredictedInstance((x0, y0, x1, y1), float(scores[i]), target, name,
                                               mask, np.ascontiguousarray(prob, dtype=np.float32)))
        return InstanceResult(instances, self.labels, (H, W), sorted(unmapped),
                              model=self.card.name, version=self.loaded.version)

    def predict(self, image: Any, source: str = "image"):
        """Predict one uint8 RGB image (H×W×3; gray and RGBA are accepted)."""
        rgb = as_rgb(image, source)
        try:
            if self.task == "instance":
                return self._predict_instance(rgb)
            return self._predict_semantic(rgb)
        except RuntimeError as e:
            if "out of memory" in str(e).lower():
                raise ModelError(f"{source}: the {self.device.type} device ran out of memory; use a smaller "
                                 f"--max-side / tile, or --device cpu") from None
            raise
