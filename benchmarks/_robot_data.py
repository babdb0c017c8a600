"""Images, ground-truth masks and one prediction per image, for the robot benchmarks."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass
class Case:
    name: str
    image: np.ndarray        # uint8 H×W×3
    gt: np.ndarray           # uint8 H×W, 255 = void
    prediction: np.ndarray   # uint8 H×W class map
    memory: object           # PredictionMemory


def add_data_arguments(ap, required: bool = True) -> None:
    """The options that say which images, masks and checkpoint the fitting scripts work on
    (``required``: the script cannot run without them)."""
    ap.add_argument("--images", required=required)
    ap.add_argument("--masks", required=required)
    ap.add_argument("--labels", required=required)
    ap.add_argument("--void", type=int, default=255)
    ap.add_argument("--weights", required=required, help="checkpoint whose predictions the robot corrects")
    ap.add_argument("--resize", type=int, help="the model's working size (default: the checkpoint's)")
    ap.add_argument("--every", type=int, default=1, help="use every N-th image")
    ap.add_argument("--limit", type=int)


def load_cases(images: str, masks: str, labels_file: str, void: int, weights: str, *, limit: int | None = None,
               every: int = 1, resize: int | None = None, device: str = "cpu", progress=print) -> tuple[list[Case], object]:
    """Read the images with a mask of the same stem (``every``-th one, at most ``limit``), predict
    each once with ``weights``; returns (cases, label set)."""
    from segstudio.formats.images import IMAGE_EXTENSIONS, load_image
    from segstudio.formats.labelfile import read_label_file
    from segstudio.formats.masks import read_label_png
    from segstudio.ml.pipeline import Pipeline
    from segstudio.ml.weights import load_model

    labels = read_label_file(labels_file)
    mask_by_stem = {p.stem: p for p in Path(masks).iterdir() if p.suffix.lower() == ".png"}
    files = sorted(p for p in Path(images).iterdir()
                   if p.suffix.lower() in IMAGE_EXTENSIONS and p.stem in mask_by_stem)[::max(1, every)]
    if limit:
        files = files[:limit]
    if not files:
        raise SystemExit(f"no image in {images} has a mask in {masks}")
    # the working size the checkpoint's card records, as `predict` and the app use (``Pipeline.build``)
    predictor = Pipeline.build(load_model(None, weights), device, labels=labels, resize=resize).predictor
    if predictor.resize:
        progress(f"predicting {len(files)} images with {weights} at a short side of {predictor.resize} px")
    cases = []
    for i, f in enumerate(files):
        rgb = load_image(f)
        gt = read_label_png(mask_by_stem[f.stem])
        gt = np.where(gt == void, 255, gt).astype(np.uint8)
        bad = (gt != 255) & (gt >= len(labels))
        if bad.any():
            raise SystemExit(f"{mask_by_stem[f.stem]}: class id {int(gt[bad][0])} is not in {labels_file}; "
                             "give --void for the unlabelled id")
        result = predictor.predict(rgb, str(f))
        cases.append(Case(f.stem, rgb, gt, result.class_map, result.memory()))
    return cases, labels
