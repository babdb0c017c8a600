"""Regenerate the sample images in resources/samples/ (procedural, CC0).

    python resources/make_samples.py

Each image is drawn from a fixed seed: a sky gradient, ground with texture,
and a few objects (discs, boxes, a "vehicle" silhouette), so the canvas, the
tools and a prediction have something to work on at the first launch.
"""

from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parent / "samples"


def scene(seed: int, w: int = 640, h: int = 426) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h)[:, None, None]
    top = np.array([rng.uniform(60, 130), rng.uniform(120, 180), rng.uniform(200, 250)])  # blue sky
    bottom = np.array([rng.uniform(190, 235), rng.uniform(200, 240), rng.uniform(225, 250)])
    img = (top * (1 - y) + bottom * y) * np.ones((1, w, 1))
    horizon = int(h * rng.uniform(0.45, 0.62))
    ground = rng.uniform(60, 140, 3)
    img[horizon:] = ground + rng.normal(0, 12, (h - horizon, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    # hills
    xs = np.arange(w)
    ridge = (horizon - 30 - 25 * np.sin(xs / w * np.pi * rng.uniform(1, 3) + rng.uniform(0, 6))).astype(int)
    hill = tuple(int(v) for v in rng.uniform(40, 110, 3))
    for x in range(w):
        img[ridge[x]:horizon, x] = hill
    # objects
    for _ in range(int(rng.integers(3, 6))):
        color = tuple(int(v) for v in rng.uniform(20, 255, 3))
        cx, cy = int(rng.uniform(0.1, 0.9) * w), int(rng.uniform(horizon, h - 20))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.circle(img, (cx, cy - 30), int(rng.uniform(18, 45)), color, -1, cv2.LINE_AA)
        elif kind == 1:
            bw, bh = int(rng.uniform(40, 110)), int(rng.uniform(30, 90))
            cv2.rectangle(img, (cx - bw // 2, cy - bh), (cx + bw // 2, cy), color, -1)
        else:  # a car-like silhouette with wheels
            cv2.rectangle(img, (cx - 60, cy - 40), (cx + 60, cy - 12), color, -1)
            cv2.rectangle(img, (cx - 32, cy - 62), (cx + 30, cy - 40), color, -1)
            for wx in (cx - 36, cx + 36):
                cv2.circle(img, (wx, cy - 10), 13, (25, 25, 25), -1, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (3, 3), 0)
    return img


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for i, name in enumerate(["meadow", "road", "yard"]):
        rgb = scene(100 + i)
        cv2.imwrite(str(OUT / f"{name}.jpg"), rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
        print(OUT / f"{name}.jpg")
