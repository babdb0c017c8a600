"""Click to correct with the model.

The user clicks inside a wrong area with the right class c.  The tool
relabels the connected area that the model, told "c is here", would hand to
c, with edges on the image's edges.  Two ways choose that area (``method``):

**The network** (``"net"``, the default whenever the image is at hand).  A
small U-Net (``core.click_net``, numpy) looks at the square of ``click_net.REACH``
× the short side around the click: the image, the model's probabilities of c
and of the clicked spot's class, the labels now, the hand-painted pixels and
the earlier clicks; it answers per cell the probability that relabelling it to
c puts more pixels right than wrong.  The cells at or above the threshold
(``threshold_of``: p ≥ 0.5 at the default tolerance), brought to pixel size,
make the area; where the network is in doubt (``NET_EDGE``: 0.25 < p < 0.75)
a colour graph cut (GrabCut, the confident cells as its sure sides) decides,
so the edge follows the image's edges; the part connected to the click is
kept.  It learned from the robot annotator's clicks on CamVid train and from
synthetic scenes of clean wrong shapes (``benchmarks/fit_click_net.py``).  On
CamVid val (``benchmarks/bench_robot.py``, 101 images, an LR-ASPP fine-tuned
from scratch to val mIoU 33.4) it needs 9.00 clicks to 90 % pixel accuracy
(brush 19.77, oracle 4.76); on a stronger checkpoint it needed 6.33 against
the superpixel scoring's 7.48 below (brush 13.26, oracle 2.90), most of all
on images with many middle-sized errors.

**The superpixel scoring** (``"superpixels"``; also what runs without the image):

1. Around the click (a square of ``REACH`` × the image's short side), the
   image's superpixels (SLIC, ``SUPERPIXELS_PER_SIDE`` across the short side,
   cached per image: ``core.superpixels``) are scored.  For a superpixel j,
   with s the clicked one and p the prediction memory's probabilities (every
   class's, so rare classes the model ranks low still speak; see
   ``core.prediction_memory``), the features (``click_scene``) are

   * ``log p_c(j) − log p_c(s)`` (and its negative part): does the model think
     j is as much c as the clicked spot;
   * ``log p_c(j) − log p_cur(j)``: c against the clicked spot's current class;
   * the CIELAB colour distance of j to s, and the cheapest colour path to it
     over the superpixels (a geodesic distance) and the same for the model's c;
   * their distance (in units of the short side), ``log p_c(s)`` (how much the
     model knew about c there at all) and the model's doubt at j;
   * the share of j now labelled like the clicked spot, the share already
     labelled c, and the share of c among its neighbours;

   and ``design`` adds a few interactions (distance with the others, square roots).
   A logistic model (``WEIGHTS``) turns them into the probability that
   relabelling j gains more right pixels than it loses.  The weights are fitted
   by ``benchmarks/fit_click_correct.py``: the robot annotator (``ml.robot``)
   clicks on CamVid's training images predicted by an LR-ASPP fine-tuned there,
   and a logistic regression weighted by the pixels each superpixel would gain
   or lose learns from every superpixel around every click.  The features are
   generic (no class names), and the tolerance moves the threshold.
2. From the clicked superpixel the region grows to adjacent superpixels
   whose probability is at least ``1 − tolerance``.
3. When the image is given, the region grows at pixel level to the image's
   colour edge, at most ``EDGE_BAND`` superpixel sizes outwards
   (``core.edge_refine``: a colour graph cut inside its box grown by twice
   that; the pixels of c beside it count as its side of the edge); the part
   connected to the click is kept, and around an earlier click of another
   class the pixels stay out.  A superpixel edge is off by up to half
   a superpixel, a large share of the small regions people correct most; on
   CamVid val the robot's clicks to 90 % fell from 9.35 to 8.46.
4. (Both ways.)  The region's pixels that are already c are left alone;
   hand-painted pixels follow ``core.smart``'s rule, and a click on a
   hand-painted patch (an earlier correction the user now says is wrong)
   stays inside that patch.  Earlier clicks (``anchors``) keep their class:
   the network sees them as inputs; with the superpixel scoring their
   superpixels are never taken, and ground disputed with an earlier click of
   the current class is shared by colour-path distance to the two clicks, so
   two corrections cannot undo each other back and forth.

Tried and left out: teaching the model each click (f-BRS-style: the
LR-ASPP's last 1×1 layers refitted per click to the corrected pixels, on its
own features, then the pixels nobody painted predicted again, so one click
could put right look-alike areas elsewhere).  On every 3rd CamVid val image
the robot's clicks to 90 % went from 7.88 to 13.5 unregularised (the clicked
class floods the image), 8.00 held to the model's own prediction by a KL
term, 9.5 with a weaker one, and 8.15 when only the probabilities this tool
reads were refitted: at 1/8 of the working size the features are too coarse
for the areas people correct (half of them under 1000 pixels).

The network sees its square at 64×64 cells and the colour cut works on that
square (on a reduced copy when it is large); steps 1-2 work on the
superpixels' reduced copy inside the reach square and step 3 on the region's
box (the same way): a click costs the same on a 6000×4000 image as on a small
one.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from segstudio.core.annotation import Annotation, Patch
from segstudio.core.smart import (NeedsPrediction, Proposal, SmartParams, apply_proposal, component_at,
                                  locked_pixels, pixel_of)
from segstudio.core.edge_refine import colour_cut, pad_box, refine_edge
from segstudio.core.superpixels import Superpixels

SUPERPIXELS_PER_SIDE = 36   # the superpixels it reasons with: this many across the image's short side
REACH = 0.28   # half-side of the square searched around the click, × the image's short side
# for the columns of ``design(click_scene(...).features)``; refit with benchmarks/fit_click_correct.py
WEIGHTS = np.array([8.932, 0.827, 0.317, -0.267, -0.050, 82.392, 0.105, 0.318, 2.208, -0.227, 2.531, -0.103,
                    4.295, -75.543, -0.867, 0.598, -0.222, 0.666, -51.445, -3.982])
NET_EDGE: tuple[float, float] | None = (0.25, 0.75)   # the network's doubtful band, decided by a colour cut
EDGE_BAND = 0.5   # the edge may move out this many superpixel sizes at pixel level (``core.edge_refine``)
_LOG_EPS = 1e-4
ODDS_CLIP = 3.0   # c against the current class, in log odds (a hand-painted class the model never
                  # predicts must not read as infinitely unlike c)


def superpixel_size(shape: tuple[int, int]) -> int:
    """The superpixel size click-to-correct uses on an image of ``shape`` (its weights assume it)."""
    return max(6, round(min(shape[:2]) / SUPERPIXELS_PER_SIDE))


def design(features: np.ndarray) -> np.ndarray:
    """The logistic model's inputs from ``click_scene``'s features: them and the interactions of
    distance, model ratio and colour paths that a straight line in the features cannot draw."""
    ratio, dist, geo, model_geo = features[:, 1:2], features[:, 5:6], features[:, 8:9], features[:, 9:10]
    return np.concatenate([features, dist ** 2, ratio * dist, geo * dist, geo ** 2, model_geo * dist,
                           np.sqrt(dist), np.sqrt(geo)], 1)


def _grow(seed: int, ok: np.ndarray, starts: np.ndarray, dst: np.ndarray) -> np.ndarray:
    seen = np.zeros(ok.shape, bool)
    seen[seed] = True
    queue = deque([seed])
    while queue:
        i = queue.popleft()
        for j in dst[starts[i]:starts[i + 1]]:
            if ok[j] and not seen[j]:
                seen[j] = True
                queue.append(j)
    return seen


@dataclass
class ClickScene:
    """The superpixels around one click and what the model and the image say about each."""

    ids: np.ndarray          # superpixel ids (of ``Superpixels``) inside the reach square
    inv: np.ndarray          # the reach square on the reduced copy, as indices into ``ids``
    seed: int                # index of the clicked superpixel
    features: np.ndarray     # float (n, 13): see the module; ``design`` expands them for WEIGHTS
    share: np.ndarray        # share of each superpixel now labelled like the clicked spot
    window: tuple[int, int, int, int]  # the reach square on the reduced copy (y0, x0, y1, x1)


def _geodesic(n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, seed: int) -> np.ndarray:
    """Shortest path lengths from ``seed`` over the graph (vectorised Bellman-Ford)."""
    dist = np.full(n, np.inf)
    dist[seed] = 0.0
    for _ in range(n):
        cand = dist[src] + weight
        new = dist.copy()
        np.minimum.at(new, dst, cand)
        if np.array_equal(new, dist):
            break
        dist = new
    return dist


def click_scene(doc: Annotation, memory, y: int, x: int, class_id: int, sp: Superpixels) -> ClickScene:
    """The features of the superpixels around pixel (``y``, ``x``) for a click of ``class_id``."""
    H, W = doc.shape
    s = sp.scale
    short = min(H, W)
    cur = int(doc.class_map[y, x])
    reach = max(REACH * short, 3.0 * sp.size)
    lh, lw = sp.labels.shape
    wy0, wx0 = max(0, int((y - reach) * s)), max(0, int((x - reach) * s))
    wy1, wx1 = min(lh, int(math.ceil((y + reach) * s)) + 1), min(lw, int(math.ceil((x + reach) * s)) + 1)
    wy, wx = np.arange(wy0, wy1), np.arange(wx0, wx1)
    fy, fx = (wy + 0.5) / s - 0.5, (wx + 0.5) / s - 0.5          # image coordinates of the copy's pixels
    cls = doc.class_map[np.clip(np.rint(fy), 0, H - 1).astype(np.intp)[:, None],
                        np.clip(np.rint(fx), 0, W - 1).astype(np.intp)[None, :]]
    ids, inv = np.unique(sp.labels[wy0:wy1, wx0:wx1], return_inverse=True)
    inv = inv.reshape(wy.size, wx.size)
    n = ids.size
    flat = inv.ravel()
    cnt = np.maximum(np.bincount(flat, minlength=n), 1).astype(np.float64)

    def mean(values: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=np.asarray(values, np.float64).ravel(), minlength=n) / cnt

    p_c = mean(memory.sample(memory.class_plane(class_id), fy, fx))
    p_cur = mean(memory.sample(memory.class_plane(cur), fy, fx))
    doubt = mean(memory.sample(memory.uncertainty(), fy, fx))
    share = mean(cls == cur)
    share_c = mean(cls == class_id)
    cy, cx = mean(np.broadcast_to(fy[:, None], inv.shape)), mean(np.broadcast_to(fx[None, :], inv.shape))
    seed = int(np.searchsorted(ids, sp.labels[min(lh - 1, int((y + 0.5) * s)), min(lw - 1, int((x + 0.5) * s))]))
    log_c = np.log(p_c + _LOG_EPS)
    ratio = log_c - log_c[seed]
    colours = sp.colours[ids]
    src, dst = _edges(inv, n)
    jump = np.linalg.norm(colours[src] - colours[dst], axis=1) / 10.0
    # how much of the neighbourhood is class c already (a misplaced edge, rather than a lone error)
    degree = np.maximum(np.bincount(src, minlength=n), 1)
    near_c = np.bincount(src, weights=share_c[dst], minlength=n) / degree
    features = np.stack([np.ones(n), ratio, np.minimum(ratio, 0.0),
                         np.clip(log_c - np.log(p_cur + _LOG_EPS), -ODDS_CLIP, ODDS_CLIP),
                         np.linalg.norm(colours - colours[seed], axis=1) / 10.0,
                         np.hypot(cy - y, cx - x) / short, share, np.full(n, log_c[seed]),
                         _geodesic(n, src, dst, jump, seed) / 10.0,
                         _geodesic(n, src, dst, np.abs(log_c[src] - log_c[dst]), seed),
                         doubt, share_c, near_c], 1)
    return ClickScene(ids, inv, seed, features, share, (wy0, wx0, wy1, wx1))


def _edges(lab: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Both directions of every pair of 4-adjacent labels of ``lab`` (0..n-1), sorted by source."""
    a = np.concatenate([lab[:, :-1].ravel(), lab[:-1, :].ravel()])
    b = np.concatenate([lab[:, 1:].ravel(), lab[1:, :].ravel()])
    d = a != b
    a, b = a[d].astype(np.int64), b[d].astype(np.int64)
    pairs = np.unique(np.concatenate([a * n + b, b * n + a]))
    return np.divmod(pairs, n)


def _refined(doc: Annotation, image: np.ndarray, mask: np.ndarray, offset: tuple[int, int], class_id: int,
             sp: Superpixels, anchors, click: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The superpixel region ``mask`` grown at pixel level to the colour edge (step 3 of the module)."""
    band = EDGE_BAND * sp.size
    oy, ox = offset
    y0, x0, y1, x1 = pad_box((oy, ox, oy + mask.shape[0], ox + mask.shape[1]), band, doc.shape)
    chosen = np.zeros((y1 - y0, x1 - x0), np.uint8)
    chosen[oy - y0:oy - y0 + mask.shape[0], ox - x0:ox - x0 + mask.shape[1]] = mask
    region = chosen.astype(bool) | (doc.class_map[y0:y1, x0:x1] == class_id)  # c's pixels are its side too
    r = max(1, int(round(band)))
    near = cv2.dilate(chosen, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    keep_out = 1 - near  # it grows near the chosen superpixels only
    for ax, ay, ac in anchors:  # an earlier click of another class keeps its pixels around it
        ax, ay = int(round(ax)) - x0, int(round(ay)) - y0
        if ac != class_id and 0 <= ay < y1 - y0 and 0 <= ax < x1 - x0:
            cv2.circle(keep_out, (ax, ay), max(1, sp.size // 2), 1, -1)
    out = refine_edge(image, region, (y0, x0), band, keep_out.astype(bool))
    out[click[0] - y0, click[1] - x0] = True
    return component_at(out, (click[0] - y0, click[1] - x0)), (y0, x0)


def correct_proposal(doc: Annotation, memory, point, class_id: int, superpixels: Superpixels | None,
                     params: SmartParams = SmartParams(), anchors=(), image: np.ndarray | None = None,
                     method: str = "auto") -> Proposal | None:
    """What a click with class ``class_id`` at ``point`` (x, y) relabels (see the module);
    None when the click is outside the image or already on that class.  ``anchors``: earlier
    clicks (x, y, class).  ``method``: "net" (needs ``image``) asks ``core.click_net``;
    "superpixels" scores ``superpixels`` with ``WEIGHTS`` (and, with ``image``, grows the region
    to the colour edge); "auto" (the default) is the network when the image is given."""
    if memory is None:
        raise NeedsPrediction("click to correct")
    if memory.size != doc.shape:
        raise NeedsPrediction("click to correct (the model's probabilities are for another image size)")
    pix = pixel_of(doc, point)
    if pix is None:
        return None
    y, x = pix
    cur = int(doc.class_map[y, x])
    if cur == class_id:
        return None
    if method == "auto":
        method = "net" if image is not None else "superpixels"
    if method == "net":
        if image is None:
            raise ValueError("click to correct's network needs the image")
        mask, (oy, ox) = _net_region(doc, memory, y, x, class_id, params, anchors, image)
    elif method == "superpixels":
        mask, (oy, ox) = _superpixel_region(doc, memory, y, x, class_id, superpixels, params, anchors, image)
    else:
        raise ValueError(f"unknown click to correct method '{method}'")
    return _finish(doc, mask, (oy, ox), y, x, cur, class_id, params)


def threshold_of(params: SmartParams, method: str = "net") -> float:
    """The probability a pixel needs to be relabelled at ``params.tolerance``: the network is asked
    for p >= 0.5 at the default tolerance (0.4 and 0.6 gave more clicks), the superpixel scoring
    for p >= 1 - tolerance; both move one for one with the tolerance, within 0.05..0.95."""
    shift = SmartParams().tolerance - 0.5 if method == "net" else 0.0
    return min(0.95, max(0.05, 1.0 - params.tolerance + shift))


def _net_region(doc: Annotation, memory, y: int, x: int, class_id: int, params: SmartParams, anchors,
                image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The cells of the click's square the network would relabel, at pixel level, connected to the click."""
    from segstudio.core.click_net import relabel_probability

    H, W = doc.shape
    prob, R = relabel_probability(image, doc.class_map, doc.user_mask, memory, y, x, class_id, anchors)
    y0, x0, y1, x1 = max(0, y - R), max(0, x - R), min(H, y + R), min(W, x + R)
    up = cv2.resize(prob.astype(np.float32), (2 * R, 2 * R), interpolation=cv2.INTER_LINEAR)
    up = up[y0 - (y - R):y1 - (y - R), x0 - (x - R):x1 - (x - R)]
    mask = up >= threshold_of(params, "net")
    if NET_EDGE is not None:
        mask = _cut_doubtful(image[y0:y1, x0:x1], up, mask, *NET_EDGE)
    mask[y - y0, x - x0] = True
    return component_at(mask, (y - y0, x - x0)), (y0, x0)


def _cut_doubtful(crop: np.ndarray, prob: np.ndarray, mask: np.ndarray, low: float, high: float) -> np.ndarray:
    """``mask`` with the pixels the network doubts (``low`` < p < ``high``) decided by the image's
    colour edges: a GrabCut whose sure sides are the confident pixels (``edge_refine.colour_cut``)."""
    gc = np.where(mask, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    gc[prob >= high] = cv2.GC_FGD
    gc[prob <= low] = cv2.GC_BGD
    cut = colour_cut(crop, gc)
    if cut is None:
        return mask
    doubtful = (prob > low) & (prob < high)
    return np.where(doubtful, cut, mask)


def _superpixel_region(doc: Annotation, memory, y: int, x: int, class_id: int, superpixels: Superpixels,
                       params: SmartParams, anchors, image: np.ndarray | None
                       ) -> tuple[np.ndarray, tuple[int, int]]:
    """Steps 1-3 of the module with the superpixel scoring."""
    cur = int(doc.class_map[y, x])
    sp = superpixels
    H, W = doc.shape
    sc = click_scene(doc, memory, y, x, class_id, sp)
    prob = 1.0 / (1.0 + np.exp(-(design(sc.features) @ WEIGHTS)))
    threshold = threshold_of(params, "superpixels")
    ok = (prob >= threshold) & (sc.share > 0)
    wy0, wx0, wy1, wx1 = sc.window
    lh, lw = sp.labels.shape
    src, dst = _edges(sc.inv, sc.ids.size)
    rivals = []
    for ax, ay, ac in anchors:  # an earlier click keeps its class (unless since changed by hand)
        ax, ay = int(round(ax)), int(round(ay))
        if ac != class_id and 0 <= ay < H and 0 <= ax < W and doc.class_map[ay, ax] == ac:
            wy_, wx_ = min(lh - 1, int((ay + 0.5) * sp.scale)), min(lw - 1, int((ax + 0.5) * sp.scale))
            if wy0 <= wy_ < wy1 and wx0 <= wx_ < wx1:
                k = int(sc.inv[wy_ - wy0, wx_ - wx0])
                ok[k] = False
                if ac == cur:
                    rivals.append(k)
    if rivals:  # share the disputed ground: each superpixel goes to the nearer click
        jump = np.linalg.norm(sp.colours[sc.ids][src] - sp.colours[sc.ids][dst], axis=1) / 10.0
        d_seed = sc.features[:, 8]
        d_rival = np.min([_geodesic(sc.ids.size, src, dst, jump, k) for k in rivals], axis=0) / 10.0
        ok &= d_seed <= d_rival
    starts = np.searchsorted(src, np.arange(sc.ids.size + 1))
    chosen = sc.ids[_grow(sc.seed, ok, starts, dst)]
    mask, (oy, ox) = sp.mask_of(chosen)
    if image is not None and EDGE_BAND > 0:
        mask, (oy, ox) = _refined(doc, image, mask, (oy, ox), class_id, sp, anchors, (y, x))
    return mask, (oy, ox)


def _finish(doc: Annotation, mask: np.ndarray, offset: tuple[int, int], y: int, x: int, cur: int, class_id: int,
            params: SmartParams) -> Proposal:
    """Step 4 of the module: what the region changes, by ``core.smart``'s rule for hand-painted pixels."""
    oy, ox = offset
    box = (oy, ox, oy + mask.shape[0], ox + mask.shape[1])
    here = doc.class_map[box[0]:box[2], box[1]:box[3]]
    mask &= here != class_id
    seeds = np.zeros(mask.shape, bool)
    seeds[y - oy, x - ox] = True
    mask &= ~locked_pixels(doc, box, seeds, params.keep_user)
    if params.keep_user and doc.user_mask[y, x]:  # redoing an earlier correction: stay inside it
        mask &= component_at(doc.user_mask[box[0]:box[2], box[1]:box[3]] & (here == cur), (y - oy, x - ox))
    mask[y - oy, x - ox] = True  # the clicked pixel always takes the class
    return Proposal((oy, ox), mask, int(class_id))


def correct_click(doc: Annotation, memory, point, class_id: int, superpixels: Superpixels | None,
                  params: SmartParams = SmartParams(), anchors=(), image: np.ndarray | None = None,
                  method: str = "auto") -> list[Patch]:
    """Relabel what ``correct_proposal`` proposes; the patches make one undo step."""
    return apply_proposal(doc, correct_proposal(doc, memory, point, class_id, superpixels, params, anchors, image,
                                                method))
