"""Class weights for the loss: none, median-frequency balancing, or a file.

Median-frequency balancing (Eigen and Fergus 2015, as SegNet trained on
CamVid): ``w_c = median(freq) / freq(c)`` with ``freq(c)`` = pixels of class
``c`` / all pixels of the training images in which ``c`` appears.  Void (255)
pixels are counted nowhere.  The median is over the classes that appear; a
class that never appears gets weight 0 (it is never a target, so its weight
changes nothing).

A weights file is UTF-8 text with one number per class in label-id order,
separated by spaces, commas or new lines; ``#`` starts a comment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segstudio.errors import SegStudioError

VOID = 255


def class_pixel_counts(masks, num_classes: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(pixels of each class, valid pixels of the images where each class appears, images) over ``masks``."""
    counts = np.zeros(num_classes, np.int64)
    image_pixels = np.zeros(num_classes, np.int64)
    n = 0
    for mask in masks:
        hist = np.bincount(np.asarray(mask).ravel(), minlength=256)
        c = hist[:num_classes].astype(np.int64)
        counts += c
        image_pixels[c > 0] += int(hist.sum() - hist[VOID])
        n += 1
    return counts, image_pixels, n


def median_frequency(counts: np.ndarray, image_pixels: np.ndarray) -> np.ndarray:
    """SegNet's weights from ``class_pixel_counts``; classes that never appear get 0."""
    present = counts > 0
    weights = np.zeros(len(counts), np.float64)
    if not present.any():
        return weights
    freq = counts[present] / image_pixels[present]
    weights[present] = np.median(freq) / freq
    return weights


def median_frequency_weights(dataset, num_classes: int) -> tuple[np.ndarray, int]:
    """(weights, number of masks read) from a ``SemanticDataset``'s masks (images are not read)."""
    counts, image_pixels, n = class_pixel_counts((s.read_mask() for s in dataset.samples), num_classes)
    if not counts.any():
        raise SegStudioError("median-frequency class weights: the training masks hold no labelled pixel "
                             "(everything is void)")
    return median_frequency(counts, image_pixels), n


def read_class_weights(path: str | Path, num_classes: int) -> np.ndarray:
    """The weights in ``path`` (one non-negative number per class, in label-id order)."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SegStudioError(f"class weights file {path} not found; give --class-weights none, "
                             "median-frequency or a text file with one number per class") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SegStudioError(f"cannot read the class weights file {path} ({e})") from None
    values = []
    for line_no, line in enumerate(text.splitlines(), 1):
        for token in line.split("#", 1)[0].replace(",", " ").split():
            try:
                v = float(token)
            except ValueError:
                raise SegStudioError(f"{path}, line {line_no}: {token!r} is not a number; the file holds one "
                                     "weight per class in label-id order") from None
            if not np.isfinite(v) or v < 0:
                raise SegStudioError(f"{path}, line {line_no}: class weights must be finite and >= 0, got {token}")
            values.append(v)
    if len(values) != num_classes:
        raise SegStudioError(f"{path} holds {len(values)} class weights but the label set has {num_classes} "
                             "classes; give one weight per class in label-id order")
    if not any(values):
        raise SegStudioError(f"{path}: every class weight is 0; nothing would be trained")
    return np.asarray(values, np.float64)


def resolve_class_weights(choice: str | None, dataset, num_classes: int) -> tuple[np.ndarray | None, str]:
    """(weights per label id or None, kind) for ``--class-weights none|median-frequency|FILE``."""
    choice = (choice or "none").strip()
    if choice == "none":
        return None, "none"
    if choice == "median-frequency":
        weights, _ = median_frequency_weights(dataset, num_classes)
        return weights, "median-frequency"
    return read_class_weights(choice, num_classes), f"file {choice}"


def format_weights(weights: np.ndarray, names) -> str:
    return ", ".join(f"{n} {w:.3g}" for n, w in zip(names, weights))
