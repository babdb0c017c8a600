"""Which images to label next: uncertain ones, one per kind of scene (numpy only).

The plain uncertainty ranking (mean normalised entropy, MONAI Label's score)
spends a batch on the hardest scenes of one corner of the folder, and on
neighbouring frames of one video: measured with ``benchmarks/bench_rounds.py``
on CamVid, a batch of the 10 most uncertain images left the next model needing
1.24× the clicks of a batch picked at random.  ``pick_clustered`` keeps the
uncertainty but asks for representatives (Zhdanov, "Diverse mini-batch active
learning", 2019): among the ``CLUSTER_POOL × k`` most uncertain images, the
images are grouped into ``k`` clusters of scenes by k-means weighted by their
uncertainty, and the image nearest each centre is picked.  In the same
benchmark the next models then needed 0.93× the random batches' clicks (with two
seeds).

A scene is described by what the model sees where: the most probable class on
a 12×16 grid over the image (``layout``, 192 bytes, kept in the project's
ranking file so that the image list orders a project without opening its
prediction memories), summed into 3×4 blocks of class shares
(``scene_features``).

    from segstudio.core.batch_pick import layout, pick_clustered, batch_order
    picked = pick_clustered(scores, lambda key: layouts[key], 10)
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from segstudio.core.labels import VOID_ID

LAYOUT = (12, 16)   # rows, columns of the predicted-class layout that describes an image
CELLS = (3, 4)      # ... summed into this grid of class shares: what pick_clustered compares (1×1, 6×8: worse)
CLUSTER_POOL = 10   # pick_clustered chooses among this many × k most uncertain images (5, 20: worse)
KMEANS_ITERATIONS = 30
BATCH = 10          # images per batch of the image list's "next to label" order


def layout(memory, shape: tuple[int, int] = LAYOUT) -> np.ndarray:
    """The most probable class on a coarse ``shape`` grid over the image of a ``PredictionMemory``:
    what the model sees where (uint8)."""
    top = memory.classes[0]
    h, w = top.shape
    ys = np.minimum((np.arange(shape[0]) + 0.5) * h / shape[0], h - 1).astype(np.intp)
    xs = np.minimum((np.arange(shape[1]) + 0.5) * w / shape[1], w - 1).astype(np.intp)
    return np.ascontiguousarray(top[ys[:, None], xs[None, :]], dtype=np.uint8)


def scene_features(layouts: Sequence[np.ndarray], cells: tuple[int, int] = CELLS) -> np.ndarray:
    """One row per layout (``layout()``): the share of each class (those the layouts hold, void left
    out) in each of ``cells`` blocks of it.  Two frames of one scene are close; a street and a
    parking lot are not."""
    ids = sorted(set(np.unique(np.concatenate([np.unique(lay) for lay in layouts])).tolist()) - {VOID_ID})
    if not ids:
        return np.zeros((len(layouts), cells[0] * cells[1]))
    if len({lay.shape for lay in layouts}) == 1:   # the usual case: one pass over all of them
        return _block_shares(np.stack(layouts), ids, cells)
    return np.concatenate([_block_shares(lay[None], ids, cells) for lay in layouts])


def _block_shares(stack: np.ndarray, ids: list[int], cells: tuple[int, int]) -> np.ndarray:
    """``scene_features`` of a stack of same-sized layouts (n, rows, columns)."""
    n, rows, cols = stack.shape
    gh, gw = cells
    h, w = (rows // gh) * gh, (cols // gw) * gw
    blocks = stack[:, :h, :w].reshape(n, gh, h // gh, gw, w // gw).transpose(0, 1, 3, 2, 4)
    blocks = blocks.reshape(n, gh * gw, -1)
    return (blocks[..., None] == np.asarray(ids)).mean(2).reshape(n, -1)


def weighted_kmeans(x: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator,
                    iterations: int = KMEANS_ITERATIONS) -> np.ndarray:
    """``k`` centres of the rows of ``x``, each row counting ``weights`` times (k-means++ seeding
    weighted the same way, then Lloyd's iterations until nothing moves)."""
    n = len(x)
    w = np.maximum(np.asarray(weights, np.float64), 1e-12)
    centres = [x[rng.choice(n, p=w / w.sum())]]
    dist = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = w * dist
        centres.append(x[rng.choice(n, p=p / p.sum())] if p.sum() > 0 else x[rng.integers(n)])
        dist = np.minimum(dist, ((x - centres[-1]) ** 2).sum(1))
    c = np.asarray(centres)
    assign = None
    for _ in range(iterations):
        new = np.argmin(((x[:, None, :] - c[None, :, :]) ** 2).sum(2), 1)
        if assign is not None and np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            members = assign == j
            if members.any():   # an empty cluster keeps its centre
                c[j] = (w[members, None] * x[members]).sum(0) / w[members].sum()
    return c


def pick_clustered(scores: Mapping[str, float], layout_of: Callable[[str], np.ndarray], k: int,
                   seed: int = 0) -> list[str]:
    """``k`` of the ``CLUSTER_POOL × k`` highest ``scores``, one per cluster of scenes: their layouts
    (``layout_of(key)``, asked for those images only) are grouped into ``k`` clusters by k-means
    weighted by the scores, and the image nearest each centre is picked; most uncertain first,
    ties in key order.  The same scores give the same picks (seeded)."""
    k = max(0, int(k))
    pool = sorted(scores, key=lambda key: (-scores[key], key))[:k * CLUSTER_POOL]
    if len(pool) <= k:
        return pool
    x = scene_features([layout_of(key) for key in pool])
    centres = weighted_kmeans(x, np.array([scores[key] for key in pool]), k, np.random.default_rng(seed))
    picked: list[int] = []
    for c in centres:
        d = ((x - c) ** 2).sum(1)
        picked.append(next(i for i in np.lexsort((np.arange(len(pool)), d)) if i not in picked))
    return sorted((pool[i] for i in picked), key=lambda key: (-scores[key], key))


def batch_order(scores: Mapping[str, float], layouts: Mapping[str, np.ndarray], batches: int,
                k: int | None = None) -> list[str]:
    """Every key of ``scores`` in labelling order: ``batches`` batches of ``k`` picked in turn by
    ``pick_clustered`` (each from the images the earlier ones left), then the rest most uncertain
    first.  Images without a layout (ranked before layouts were kept) take part by score only:
    while any of the pool lacks one, a batch is the plain ranking's next ``k`` (default ``BATCH``)."""
    k = BATCH if k is None else int(k)
    left = dict(scores)
    order: list[str] = []
    for _ in range(max(0, int(batches))):
        if not left:
            break
        ranked = sorted(left, key=lambda key: (-left[key], key))
        if all(key in layouts for key in ranked[:k * CLUSTER_POOL]):
            batch = pick_clustered(left, layouts.__getitem__, k)
        else:
            batch = ranked[:k]
        order += batch
        for key in batch:
            del left[key]
    return order + sorted(left, key=lambda key: (-left[key], key))
