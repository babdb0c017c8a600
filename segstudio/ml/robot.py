"""The robot annotator: how many clicks a person needs to correct a prediction.

It simulates a person correcting a model's prediction P against the ground
truth G, in the protocol of the interactive-segmentation literature (RITM,
SAM: the number of clicks, NoC).  Each click:

1. the error pixels (P != G, void in G never counts) are split into
   connected regions (4-connected) per ground-truth class; the largest is chosen;
2. the robot clicks at its interior-most point (the maximum of its distance
   transform, the image border counting as a boundary) with the ground-truth
   class there;
3. the tool under test edits the real ``Annotation`` through the same edit
   functions the app calls (so ``user_mask``, the invariant and undo are
   exercised: with ``check`` every click is undone and redone and compared),
   and P becomes the document's class map.

It stops after ``max_clicks`` (or when nothing is wrong) and records the
pixel accuracy and mIoU after each click and the time each click took (the
tool's work only: finding the error region is the robot's, not the tool's).
NoC@90 / NoC@95 are the clicks needed to reach 90 % / 95 % pixel accuracy
(``max_clicks`` when never reached).

The tools are entries of ``ROBOT_TOOLS`` (name -> ``RobotTool``): ``brush``
(one disc dab of radius 16, what a person has without smart tools), ``fill``
(the app's flood fill from the click), ``oracle`` (the whole chosen error
region fixed: the limit for one click per region) and the smart tools:
``correct`` (click to correct; ``correct_superpixels``: with the superpixel
scoring it used before its network), ``superpixel`` (the superpixels, 16 px, under
a dab of the brush's radius) and ``scribble`` (a dot stroke spread by the CRF
and accepted at once).  A
new tool is one entry: ``ROBOT_TOOLS["sam"] = RobotTool(click=fn, prepare=embed)`` (as
``sam_robot_tool`` makes for Segment Anything).

    from segstudio.ml.robot import run_robot
    result = run_robot(prediction, gt, "correct", image=rgb, memory=memory)
    result.noc90, result.pixel_accuracy[5], result.ms_per_click_median
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import cv2
import numpy as np

from segstudio.core import edits
from segstudio.core.annotation import Annotation, Box, Patch
from segstudio.core.history import History
from segstudio.core.labels import VOID_ID
from segstudio.core.metrics import ConfusionMatrix
from segstudio.core.smart import SmartParams
from segstudio.errors import EditError

BRUSH_RADIUS = 16
SUPERPIXEL_SIZE = 16   # the superpixel brush's size for the robot (the app's follows the zoom)
MAX_CLICKS = 20


@dataclass
class Click:
    """One robot click: the pixel (x, y), the ground-truth class there, and the error
    region it was chosen in (``region`` bool inside ``box``; only the oracle may look)."""

    x: int
    y: int
    class_id: int
    box: Box
    region: np.ndarray

    @property
    def point(self) -> tuple[float, float]:
        return float(self.x), float(self.y)


@dataclass
class RobotScene:
    """What a tool may use about the image under correction."""

    doc: Annotation
    image: np.ndarray | None = None          # uint8 H×W×3
    memory: Any = None                       # PredictionMemory of the prediction, or None
    params: SmartParams = field(default_factory=SmartParams)
    cache: dict = field(default_factory=dict)  # per-image work of ``prepare`` (superpixels, embeddings)


ClickFn = Callable[[RobotScene, Click], "Patch | list[Patch] | None"]


@dataclass(frozen=True)
class RobotTool:
    """A tool the robot can use: ``click`` edits ``scene.doc`` in place and returns the applied
    patch(es); ``prepare`` (optional) runs once per image before the first click and is not
    timed (what the app computes in the background when an image opens)."""

    click: ClickFn
    prepare: Callable[[RobotScene], None] | None = None
    needs: tuple[str, ...] = ()              # "image", "memory"
    about: str = ""


@dataclass
class RobotResult:
    tool: str
    pixel_accuracy: list[float]   # [k] after k clicks ([0]: the prediction); max_clicks + 1 values
    miou: list[float]
    seconds: list[float]          # per click made
    clicks: list[tuple[int, int, int]]  # (x, y, class) of each click made

    def noc(self, target: float) -> int:
        """Clicks until the pixel accuracy reaches ``target`` (the click budget when never)."""
        for k, pa in enumerate(self.pixel_accuracy):
            if pa >= target - 1e-12:
                return k
        return len(self.pixel_accuracy) - 1

    @property
    def noc90(self) -> int:
        return self.noc(0.90)

    @property
    def noc95(self) -> int:
        return self.noc(0.95)

    @property
    def ms_per_click_median(self) -> float | None:
        return 1000 * statistics.median(self.seconds) if self.seconds else None

    def to_json(self) -> dict:
        return {"tool": self.tool, "noc90": self.noc90, "noc95": self.noc95,
                "pixel_accuracy": self.pixel_accuracy, "miou": self.miou,
                "ms_per_click_median": self.ms_per_click_median, "clicks": self.clicks}


# -- the robot's choice of click --------------------------------------------------------------

def next_click(current: np.ndarray, gt: np.ndarray, void: int = VOID_ID) -> Click | None:
    """The click a person would make next: the interior-most point of the largest error
    region (connected, one ground-truth class); None when nothing is wrong."""
    err = (current != gt) & (gt != void)
    if not err.any():
        return None
    best = None  # (area, class, labels, component)
    for c in np.unique(gt[err]):
        m = (err & (gt == c)).view(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=4)
        k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        area = int(stats[k, cv2.CC_STAT_AREA])
        if best is None or area > best[0]:
            best = (area, int(c), labels, k, stats[k])
    _, c, labels, k, st = best
    x0, y0, w, h = (int(v) for v in st[:4])
    region = labels[y0:y0 + h, x0:x0 + w] == k
    dist = cv2.distanceTransform(np.pad(region, 1).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    ry, rx = np.unravel_index(int(np.argmax(dist)), dist.shape)
    return Click(x0 + int(rx), y0 + int(ry), c, (y0, x0, y0 + h, x0 + w), region)


def _scores(current: np.ndarray, gt: np.ndarray, num_classes: int, void: int) -> tuple[float, float]:
    cm = ConfusionMatrix(num_classes, void)
    cm.update(gt, current)
    m = cm.compute()
    return float(m.pixel_accuracy or 0.0), float(m.miou or 0.0)


# -- the baseline tools -----------------------------------------------------------------------

def _brush(scene: RobotScene, click: Click):
    return edits.paint_segment(scene.doc, click.point, click.point, BRUSH_RADIUS, class_id=click.class_id)


def _fill(scene: RobotScene, click: Click):
    return edits.flood_fill(scene.doc, click.point, class_id=click.class_id)


def _oracle(scene: RobotScene, click: Click):
    return edits.paint_mask(scene.doc, click.region, click.box[:2], class_id=click.class_id)


def _correct_prepare(scene: RobotScene) -> None:
    from segstudio.core.click_correct import superpixel_size
    from segstudio.core.superpixels import compute_superpixels
    scene.cache["fine_superpixels"] = compute_superpixels(scene.image, superpixel_size(scene.doc.shape))


def _correct_with(method: str) -> ClickFn:
    def click_fn(scene: RobotScene, click: Click):
        from segstudio.core.click_correct import correct_click
        anchors = scene.cache.setdefault("anchors", [])
        out = correct_click(scene.doc, scene.memory, click.point, click.class_id, scene.cache.get("fine_superpixels"),
                            scene.params, anchors, scene.image, method)
        anchors.append((click.x, click.y, click.class_id))
        return out
    return click_fn


def _superpixel_prepare(scene: RobotScene) -> None:
    from segstudio.core.superpixels import compute_superpixels
    scene.cache["superpixels"] = compute_superpixels(scene.image, SUPERPIXEL_SIZE)


def _superpixel(scene: RobotScene, click: Click):
    from segstudio.core.superpixels import superpixel_paint
    return superpixel_paint(scene.doc, scene.cache["superpixels"], click.point, click.point, BRUSH_RADIUS,
                            click.class_id, scene.params)


def _scribble(scene: RobotScene, click: Click):
    from segstudio.ml.scribble import SCRIBBLE_RADIUS, Stroke, scribble_crf
    stroke = Stroke([click.point], click.class_id, SCRIBBLE_RADIUS)
    return scribble_crf(scene.doc, scene.memory, scene.image, [stroke], scene.params)


ROBOT_TOOLS: dict[str, RobotTool] = {
    "brush": RobotTool(_brush, about=f"one disc dab of radius {BRUSH_RADIUS} px"),
    "fill": RobotTool(_fill, about="flood fill of the clicked class region"),
    "oracle": RobotTool(_oracle, about="the whole chosen error region (the limit for one click per region)"),
    "correct": RobotTool(_correct_with("net"), needs=("image", "memory"),
                         about="click to correct with the model (its network, core.click_net)"),
    "correct_superpixels": RobotTool(_correct_with("superpixels"), prepare=_correct_prepare,
                                     needs=("image", "memory"),
                                     about="click to correct with the superpixel scoring it had before the network"),
    "superpixel": RobotTool(_superpixel, prepare=_superpixel_prepare, needs=("image",),
                            about=f"the superpixels under a dab of radius {BRUSH_RADIUS} px"),
    "scribble": RobotTool(_scribble, needs=("image", "memory"), about="a scribble dot spread by a dense CRF"),
}


def sam_robot_tool(variant: str = "vit_b", weights: str = "default", loaded=None) -> RobotTool:
    """Segment Anything as a robot tool (one positive click at the robot's point; the image's
    embedding is computed in ``prepare``, as the app computes it when an image opens).  Register
    it with ``ROBOT_TOOLS["sam"] = sam_robot_tool(...)``; it needs ``segstudio[sam]``."""
    from segstudio.ml.sam_edit import SamClickTool, sam_edit

    sam = SamClickTool(variant, weights, loaded=loaded)

    def prepare(scene: RobotScene) -> None:
        scene.cache["sam"] = sam.session(scene.image)

    def click(scene: RobotScene, c: Click):
        return sam_edit(scene.doc, scene.cache["sam"], [c.point], class_id=c.class_id,
                        keep_user=scene.params.keep_user)
    return RobotTool(click, prepare=prepare, needs=("image",), about="Segment Anything, one positive click")


def get_tool(tool: str | RobotTool | ClickFn) -> tuple[str, RobotTool]:
    if isinstance(tool, RobotTool):
        return getattr(tool.click, "__name__", "tool"), tool
    if callable(tool):
        return getattr(tool, "__name__", "tool"), RobotTool(tool)
    try:
        return tool, ROBOT_TOOLS[tool]
    except KeyError:
        raise EditError(f"unknown robot tool '{tool}'; choose one of {', '.join(ROBOT_TOOLS)}") from None


# -- the loop ---------------------------------------------------------------------------------------

def run_robot(prediction: np.ndarray, gt: np.ndarray, tool: str | RobotTool | ClickFn, *,
              image: np.ndarray | None = None, memory: Any = None, max_clicks: int = MAX_CLICKS,
              void: int = VOID_ID, num_classes: int | None = None, params: SmartParams | None = None,
              doc: Annotation | None = None, check: bool = True, stop_at: float | None = None) -> RobotResult:
    """Correct ``prediction`` (uint8 H×W class map) towards ``gt`` with ``tool``, one robot
    click at a time; see the module.  ``doc``: start from this annotation instead (it is
    edited in place); ``check``: verify the invariant and one-step undo/redo after every click;
    ``stop_at``: stop clicking once the pixel accuracy reaches it (a person then finishes the
    rest by hand; the scores after the stop stay as they were)."""
    gt = np.asarray(gt)
    if doc is None:
        doc = Annotation(np.zeros(gt.shape, np.uint8))
        edits.apply_prediction(doc, np.asarray(prediction, np.uint8), model="robot")
    if doc.shape != gt.shape:
        raise EditError(f"the prediction is {doc.width}×{doc.height} but the ground truth is "
                        f"{gt.shape[1]}×{gt.shape[0]}")
    name, spec = get_tool(tool)
    if "image" in spec.needs and image is None:
        raise EditError(f"robot tool '{name}' needs the image")
    if num_classes is None:
        valid = gt[gt != void]
        num_classes = int(max(valid.max(initial=0), 0)) + 1
    scene = RobotScene(doc, image, memory, params or SmartParams())
    if spec.prepare is not None:
        spec.prepare(scene)
    history = History()
    pa, miou = _scores(doc.class_map, gt, num_classes, void)
    result = RobotResult(name, [pa], [miou], [], [])
    for _ in range(max_clicks):
        if stop_at is not None and pa >= stop_at - 1e-12:
            break
        click = next_click(doc.class_map, gt, void)
        if click is None:
            break
        before = doc.class_map.copy() if check else None
        t0 = time.perf_counter()
        out = spec.click(scene, click)
        result.seconds.append(time.perf_counter() - t0)
        patches = [p for p in (out if isinstance(out, list) else [out]) if p is not None]
        history.push(patches, name)
        result.clicks.append((click.x, click.y, click.class_id))
        if check:
            _check_step(doc, history, before, bool(patches))
        pa, miou = _scores(doc.class_map, gt, num_classes, void)
        result.pixel_accuracy.append(pa)
        result.miou.append(miou)
    while len(result.pixel_accuracy) < max_clicks + 1:  # nothing left to correct: the scores stay
        result.pixel_accuracy.append(result.pixel_accuracy[-1])
        result.miou.append(result.miou[-1])
    return result


def _check_step(doc: Annotation, history: History, before: np.ndarray, changed: bool) -> None:
    doc.check()
    if not changed:
        return
    after = doc.class_map.copy()
    history.undo(doc)
    if not np.array_equal(doc.class_map, before):
        raise EditError("robot: one undo did not restore the document as it was before the click")
    doc.check()
    history.redo(doc)
    if not np.array_equal(doc.class_map, after):
        raise EditError("robot: redo did not give the click's result back")
