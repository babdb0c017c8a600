"""Correction effort in clicks: the robot annotator on every tool (``segstudio.ml.robot``).

Each image is predicted once with ``--weights``; every tool then corrects that
prediction towards the ground truth, one robot click at a time (the largest
wrong region, at its interior-most point, with the true class), up to
``--max-clicks``.  Per tool: NoC@90 / NoC@95 (clicks to 90 % / 95 % pixel
accuracy, the budget when never reached; mean over images), the pixel
accuracy after 0, 1, 3, 5, 10 and 20 clicks (mean over images) and the median
time per click.  Then the clicks are timed on a large image (an image of the
set and its masks scaled to ``--large``, 6000×4000 by default).

    python benchmarks/bench_robot.py --images DIR --masks DIR --labels FILE --void ID \\
        --weights CHECKPOINT [--limit N] [--json OUT] [--resize PX] [--tools a,b] [--large WxH]

Targets (the correction-effort issue): the best smart tool reaches NoC@90 at
most 0.5× the brush's and 1.5× the oracle's, and a pixel accuracy after 5
clicks 5 points above the brush's; a click takes at most 100 ms on a 480×360
image and 1 s on a 6000×4000 one.  On a machine shared with other jobs the
times swing; run it under ``nice`` and say so with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _robot_data import load_cases  # noqa: E402

AFTER = (0, 1, 3, 5, 10, 20)
SMART = ("correct", "correct_superpixels", "superpixel", "scribble", "sam")


def summarise(results, max_clicks: int) -> dict:
    secs = [s for r in results for s in r.seconds]
    return {"noc90": float(np.mean([r.noc90 for r in results])),
            "noc95": float(np.mean([r.noc95 for r in results])),
            "pa_after": {str(k): float(np.mean([r.pixel_accuracy[min(k, max_clicks)] for r in results]))
                         for k in AFTER},
            "ms_per_click_median": 1000 * statistics.median(secs) if secs else None}


def large_case(case, size: tuple[int, int]):
    """The case scaled to ``size`` = (W, H): image bilinear, masks nearest, the same prediction memory."""
    import cv2

    from segstudio.core.prediction_memory import PredictionMemory

    W, H = size
    image = cv2.resize(case.image, (W, H), interpolation=cv2.INTER_LINEAR)
    gt = cv2.resize(case.gt, (W, H), interpolation=cv2.INTER_NEAREST)
    pred = cv2.resize(case.prediction, (W, H), interpolation=cv2.INTER_NEAREST)
    m = case.memory
    memory = PredictionMemory(m.classes, m.probs, m.entropy, (H, W), m.model, m.logp, m.logp_ids)
    return image, gt, pred, memory


def print_table(summary: dict, n: int, large: dict | None) -> None:
    print(f"\n{n} images; NoC = clicks to reach the pixel accuracy (max when never); PA in %")
    head = f"{'tool':>11} {'NoC@90':>7} {'NoC@95':>7} " + " ".join(f"{'PA@' + str(k):>6}" for k in AFTER) \
        + f" {'ms/click':>9}" + (f" {'ms large':>9}" if large else "")
    print(head)
    for name, s in summary.items():
        ms = s["ms_per_click_median"]
        row = f"{name:>11} {s['noc90']:7.2f} {s['noc95']:7.2f} " + " ".join(
            f"{100 * s['pa_after'][str(k)]:6.2f}" for k in AFTER) + f" {ms if ms is not None else float('nan'):9.1f}"
        if large:
            lm = large.get(name, {}).get("ms_per_click_median")
            row += f" {lm if lm is not None else float('nan'):9.1f}"
        print(row)


def check_targets(summary: dict) -> list[str]:
    lines = []
    smart = {k: v for k, v in summary.items() if k not in ("brush", "fill", "oracle")}
    if not smart or "brush" not in summary:
        return lines
    best_name = min(smart, key=lambda k: (smart[k]["noc90"], -smart[k]["pa_after"]["5"]))
    best, brush = smart[best_name], summary["brush"]
    lines.append(f"best smart tool: {best_name}")
    lines.append(f"  NoC@90 {best['noc90']:.2f} = {best['noc90'] / brush['noc90']:.2f}x the brush's "
                 f"{brush['noc90']:.2f} (target <= 0.5x)")
    if "oracle" in summary:
        o = summary["oracle"]["noc90"]
        lines.append(f"  NoC@90 {best['noc90']:.2f} = {best['noc90'] / max(o, 1e-9):.2f}x the oracle's {o:.2f} "
                     f"(target <= 1.5x)")
    d = 100 * (best["pa_after"]["5"] - brush["pa_after"]["5"])
    lines.append(f"  PA after 5 clicks {100 * best['pa_after']['5']:.2f}% = brush {100 * brush['pa_after']['5']:.2f}% "
                 f"{d:+.2f} points (target >= +5)")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", required=True, help="folder of images")
    ap.add_argument("--masks", required=True, help="folder of ground-truth label PNGs (same stems)")
    ap.add_argument("--labels", required=True, help="label file of the masks' ids (line 1 = id 0)")
    ap.add_argument("--void", type=int, default=255, help="the masks' id for unlabelled pixels (255)")
    ap.add_argument("--weights", required=True, help="checkpoint to predict with")
    ap.add_argument("--limit", type=int, help="only the first N images")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--resize", type=int,
                    help="the model's working size (short side, px); default: what the checkpoint says")
    ap.add_argument("--tools", default="brush,fill,oracle,correct,correct_superpixels,superpixel,scribble",
                    help="comma-separated tools")
    ap.add_argument("--max-clicks", type=int, default=20)
    ap.add_argument("--tolerance", type=float, help="smart tools' tolerance (default: SmartParams')")
    ap.add_argument("--large", default="6000x4000", help="time clicks on the first image scaled to WxH "
                    "('none' to skip)")
    ap.add_argument("--large-clicks", type=int, default=5)
    ap.add_argument("--sam", metavar="WEIGHTS", help="also Segment Anything (segstudio[sam]): 'default' "
                    "(downloaded once) or a checkpoint file; --sam-variant picks the model")
    ap.add_argument("--sam-variant", default="vit_b")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-check", action="store_true", help="skip the per-click undo/redo/invariant check")
    args = ap.parse_args()

    from segstudio.core.smart import SmartParams
    from segstudio.ml.robot import MAX_CLICKS, ROBOT_TOOLS, run_robot, sam_robot_tool

    tools = [t for t in args.tools.split(",") if t]
    if args.sam:
        ROBOT_TOOLS["sam"] = sam_robot_tool(args.sam_variant, args.sam)
        tools.append("sam")
    unknown = [t for t in tools if t not in ROBOT_TOOLS]
    if unknown:
        print(f"error: unknown tools {unknown}; choose from {', '.join(ROBOT_TOOLS)}", file=sys.stderr)
        return 2
    params = SmartParams() if args.tolerance is None else SmartParams().with_tolerance(args.tolerance)
    t0 = time.perf_counter()
    cases, labels = load_cases(args.images, args.masks, args.labels, args.void, args.weights, limit=args.limit,
                               resize=args.resize, device=args.device)
    print(f"{len(cases)} images predicted in {time.perf_counter() - t0:.1f} s; "
          f"pixel accuracy before any click {100 * np.mean([_pa(c) for c in cases]):.2f}%", flush=True)
    max_clicks = args.max_clicks or MAX_CLICKS
    results = {t: [] for t in tools}
    for i, case in enumerate(cases):
        for t in tools:
            results[t].append(run_robot(case.prediction, case.gt, t, image=case.image, memory=case.memory,
                                        max_clicks=max_clicks, num_classes=len(labels), params=params,
                                        check=not args.no_check))
        line = " ".join(f"{t} {results[t][-1].noc90}" for t in tools)
        print(f"[{i + 1}/{len(cases)}] {case.name}: NoC@90 {line}", flush=True)
    summary = {t: summarise(results[t], max_clicks) for t in tools}
    large = None
    if args.large != "none":
        w, h = (int(v) for v in args.large.lower().split("x"))
        image, gt, pred, memory = large_case(cases[0], (w, h))
        print(f"timing {args.large_clicks} clicks per tool on {cases[0].name} scaled to {w}×{h}…", flush=True)
        large = {}
        for t in tools:
            r = run_robot(pred, gt, t, image=image, memory=memory, max_clicks=args.large_clicks,
                          num_classes=len(labels), params=params, check=False)
            large[t] = {"ms_per_click_median": r.ms_per_click_median, "clicks": len(r.seconds)}
    print_table(summary, len(cases), large)
    for line in check_targets(summary):
        print(line)
    if large:
        for t in (x for x in tools if x in SMART):
            small, big = summary[t]["ms_per_click_median"], large[t]["ms_per_click_median"]
            print(f"  {t}: median {small:.1f} ms per click at {cases[0].image.shape[1]}×{cases[0].image.shape[0]} "
                  f"(target <= 100), {big:.1f} ms at {args.large} (target <= 1000)")
    if args.json:
        out = {"images": len(cases), "tools": summary}
        if large:
            out["large"] = {"size": args.large, "tools": large}
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", "utf-8")
        print(f"wrote {args.json}")
    return 0


def _pa(case) -> float:
    valid = case.gt != 255
    return float((case.prediction[valid] == case.gt[valid]).mean()) if valid.any() else 0.0


if __name__ == "__main__":
    sys.exit(main())
