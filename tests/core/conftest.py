import numpy as np
import pytest

from segstudio.core.annotation import Annotation


@pytest.fixture
def doc():
    return Annotation.blank(40, 50)


def brute_disc_segment(h, w, p0, p1, r):
    """Independent reference: pixel centres within r of the segment, by brute force over the image."""
    ys, xs = np.mgrid[0:h, 0:w].astype(float)
    a = np.array(p0, float)
    b = np.array(p1, float)
    d = b - a
    L = d @ d
    if L == 0:
        t = np.zeros_like(xs)
    else:
        t = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / L, 0, 1)
    cx, cy = a[0] + t * d[0], a[1] + t * d[1]
    return (xs - cx) ** 2 + (ys - cy) ** 2 <= max(r, 0.5) ** 2
