"""The loop in rounds on CamVid (Cellpose 2.0-style): does correcting get cheaper each round,
and do images picked by uncertainty pay more than images picked at random?

Protocol
--------
* Round 0 (shared by both arms): LR-ASPP with its starting weights
  (``--weights none``: nothing can be downloaded here) predicts the first 10
  CamVid train images (file order); the robot corrects them; they become the
  training set, and the model is fine-tuned on them (model 0).
* Round r = 1..R, per arm: 10 not-yet-labelled train images are picked, the
  model of round r-1 predicts them at the working size its card records
  (``open_pipeline``, as ``predict`` and the app do), the robot annotator
  corrects each with the best smart tool (``correct``, click to correct:
  ``segstudio.ml.rounds.correction_effort``) until 90 % pixel accuracy or 20
  clicks, and the error pixels left then are what a person paints by hand
  (counted).  A person who finishes by hand leaves every labelled pixel right,
  so the corrected masks that join the training set are the ground truth
  (CamVid's void stays void: nobody knows those pixels).  Then the model is
  fine-tuned (model r) and the next round starts.
* Judged on the user's folder (``--judge-on train``, the default): before
  round 0, 20 held-out images (every round's models are scored on them, and
  the robot corrects them too, so the rounds compare on the same images) and
  37 hand-over images (a tenth of the folder, the app's validation split) are
  set aside from the train folder, spread over its sorted keys and so over its
  three sequences; the remaining 310 are the images to label.  The app
  validates on a split of the project being labelled, and this does the same.
  ``--judge-on val`` takes both sets from CamVid's val split instead, which is
  a single sequence (0016E5) of the three the train folder holds (0016E5 204,
  0006R0 101, 0001TP 62 images): see "Why" below.
* Arms: **random** picks 10 of the not-yet-labelled train images at random
  (seeded); **uncertainty** lets the model of round r-1 predict every
  not-yet-labelled train image (the candidate pool; ``--pool N`` draws N of
  them at random instead) and ranks them by mean normalised entropy
  (``PredictionMemory.mean_uncertainty()``, MONAI Label's ranking, what the
  app's "most uncertain first" order uses), and picks one image per cluster
  of scenes among the 100 most uncertain (``core.batch_pick.pick_clustered``,
  Zhdanov 2019: k-means weighted by uncertainty over 3×4 blocks of class
  shares of a 12×16 layout of predicted classes, the image nearest each of 10
  centres), as the app's "next to label" order does.  Over rounds 2-6 the
  held-out images then needed 1019 clicks against 1098 for the random arm
  (0.93×; held-out wrong 58.9 → 22.6 → 18.5 → 17.3 → 16.4 → 16.0 %); with
  ``--seed 1`` 1124 against 1210 (0.93×; 66.0 → 25.4 → 20.4 → 18.6 → 17.2 →
  15.7 %, random 66.0 → 25.3 → 19.7 → 17.8 → 17.1 → 16.0 %), with click to
  correct's superpixel scoring of 00911bf (before it: 1027 / 1106 and 1129 /
  1201; the other pick rules below were measured with that scoring).  With
  click to correct's network (``core.click_net``), seed 0: 881 against 953
  (0.92×; both arms about 13 % fewer clicks; held-out wrong 58.9 → 22.6 →
  18.5 → 17.3 → 16.4 → 16.0 %, random 58.9 → 23.1 → 19.6 → 18.2 → 16.8 →
  16.2 %); seed 1: 963 against 963 (1.00×; both arms 14-20 % fewer clicks,
  the models and so the picks unchanged: the corrected masks are the ground
  truth either way).  The
  10 most uncertain (``--plain-uncertainty``) were runs of neighbouring
  frames, up to 8 of 10 from one second of one sequence: 1376 clicks (1.24×);
  skipping near-duplicates among the 30 most uncertain (score × (1 − largest
  layout overlap with a picked image)): 1189 (1.075×); clustering all the
  unlabelled images instead of the 100 most uncertain: 1106 (1.00×); among
  the 50 most uncertain (``CLUSTER_POOL`` 5): 1159 (1.05×); among the 200
  most uncertain (20): 1064 (0.96×); scenes described by the class shares of
  the whole image (``CELLS`` 1×1): 1258 (1.14×), of 6×8 blocks: 1094 (0.99×);
  each cluster's most uncertain image instead of the one nearest its centre:
  1195 (1.08×; seed 1: 1150, 0.96×); the uncertainty weights of the
  k-means scaled by each candidate's novelty against the images the arm picked
  before (d / (d + median d), d the nearest picked image's scene distance):
  held-out clicks in rounds 2-4 264, 242, 222 against 264, 213, 184 (stopped);
  class-balanced uncertainty (each pixel's entropy weighted by the
  median-frequency weight of its predicted class among the candidates, so
  uncertain rare classes count more): rounds 2-3 286, 240 (seed 1: 320, 262)
  (stopped).
  The plain and near-duplicate-skipping picks leaned to the two smaller
  sequences (0006R0, 0001TP), while most of the folder, and of its held-out
  images, is 0016E5; the clustered picks took 34 of their 60 images from
  0016E5 (random: 35).

Training
--------
Each fine-tune is the ``segstudio finetune`` code path: a ``Trainer`` with a
``TrainConfig``, continuing from the model in use (model 0 from the starting
weights; ``--start-from start`` trains every round from the starting weights,
as the Train tab does with its default weights) with the sizes that checkpoint's card
records (round 0: crop 128, batch 8, the trainer's default base size 139 and
working size 173 -- what the device/budget fit chooses for a short CPU budget,
given explicitly so that no timing probe, and so no machine load, can change
the run).  The budget is an iteration count (``--iterations``, 200 steps of 8
crops a round, or ``--steps-per-image`` × the labelled images when that is
more), not wall time, so the results do not depend on the load.  One
round's fine-tune is one Trainer epoch over the labelled images repeated to
fill the steps, so BatchNorm refresh, validation and publishing happen once per
round (with 10 images an epoch would otherwise be a single step), and no CRF is
fitted (the robot's tools do not use it).  Validation is on the hand-over
images, and a fine-tune that continues from a checkpoint ends by blending
(``ml.training.blend``, WiSE-FT: ¼, ½, ¾ of the trained weights with the
starting ones, the best on the hand-over images kept when it beats the trained
weights; ``--no-blend`` turns it off).  The app's hand-over rule decides which
model predicts next: the round's new checkpoint replaces the model in use only
when it scores at least as well there; otherwise the model in use stays (and
the next round fine-tunes it on the larger set).  A person using the app gets
exactly that, and it keeps one unlucky short run from making the next round's
corrections dearer.  Tried and dropped: a lower learning rate for the
continued fine-tunes (0.003, and 0.002 / 0.0005 with weight averaging), 400
steps a round (model 0 overfits its 10 images: 14.5 against 18.7 mIoU),
validating 4 times a round to publish the best (model 0: 8.3), 10 or 20
steps per labelled image, retraining from the starting weights every round,
and averaging the weights of each run's last half.

Why the rounds stalled before (measured by chaining six fine-tunes on the
random arm's picks and scoring every candidate, rejected ones too): with the
held-out and hand-over images from CamVid's val split, every recipe above
stalled after 20-30 labelled images (20.8-34.3 % of held-out pixels wrong at
best, then 28.9-33.1 % with 40-50), and the hand-over rejected most later
candidates, so the share wrong stayed flat.  Scoring the same chain on 20
images set aside from the train folder showed why: the round-2 candidate got
21.0 % of those wrong against 30.8 % for the model in use, and was rejected
because it scored 26.24 against 26.30 mIoU on the val sequence.  The val split
is one sequence of the three being labelled, so it judged the models on images
unlike most of those the user corrects.  Judged on a split of the folder, as the
app does, the same chain (with blending) fell every round on the folder's
held-out images and on the val sequence too.
The hand-over rule catches every worse candidate, so the model in use never
gets worse.

Budget
------
The default run (6 rounds, 200 steps a round, 20 held-out and 37 hand-over
images, every unlabelled image in the pool) took 23 minutes on the 2-core
development machine with another job running (18 to 40 minutes in earlier
stops at load average 2-5): 11 fine-tunes of 80-230 s
(200 steps of 8×128² at about 0.4 s, BatchNorm refresh, validation, the
checkpoint), about 1 s of robot work per corrected image (13 batches of 10,
11 held-out sets of 20), and 300-odd pool predictions a round (about 40 s) for
the uncertainty arm; a busier machine stretches it towards 35 minutes.  200
steps are 160 passes over the first 10 images and 27 over the last 60: enough
for the model to learn each round's images without the run being all
training.  torch runs on one thread (``--threads``): on a shared 2-core
machine two threads were 4× slower than one as soon as anything else ran
(training step 1.9 s against 0.45 s), and the thread count changes float
sums, so it is fixed to keep the figures reproducible.  ``--quick`` (2
rounds, 4 images, 20 steps, 4 held-out, a pool of 16) checks that everything
runs in about 2 minutes; its figures mean nothing.

    nice -n 5 python benchmarks/bench_rounds.py [--rounds 6] [--iterations 200] [--json out.json]
    python benchmarks/bench_rounds.py --quick
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _camvid import find_camvid, open_camvid  # noqa: E402

ARCH = "lraspp_mobilenet_v3_large"
ARMS = ("random", "uncertainty")


def _spread(keys: list[str], n: int) -> list[str]:
    """``n`` of ``keys`` evenly spread over them (all when there are fewer)."""
    picks = np.linspace(0, len(keys) - 1, min(n, len(keys))).round().astype(int)
    return [keys[i] for i in sorted(set(picks.tolist()))]


class Loop:
    """The shared pieces: CamVid, the held-out images, prediction, correction, fine-tuning."""

    def __init__(self, args, data, work: Path):
        self.args = args
        self.data = data
        self.work = work
        self.labels = data.labels
        self.n = len(data.labels)
        self.train_index = {s.key: i for i, s in enumerate(data.train.samples)}
        self.train_keys = sorted(self.train_index)
        if args.judge_on == "train":
            # the user's folder: the app validates on a split of the project being labelled, so the
            # held-out and hand-over images are set aside from the train folder (spread over its
            # sorted keys, hence over its three sequences), after round 0's first images
            rest = self.train_keys[args.batch:]
            held = _spread(rest, args.held_out)
            hand = _spread([k for k in rest if k not in set(held)], args.selection)
            self.held_out = data.train.subset(held, name="camvid train (held out)")
            self.selection = data.train.subset(hand, name="camvid train (hand-over)")
            self.pool_keys = [k for k in self.train_keys if k not in set(held) | set(hand)]
        else:  # CamVid's val split: one sequence (0016E5) of the three the train folder holds
            val_keys = sorted(s.key for s in data.val.samples)
            held = _spread(val_keys, args.held_out)
            self.held_out = data.val.subset(held, name="camvid val (held out)")
            self.selection = data.val.subset(_spread([k for k in val_keys if k not in set(held)], args.selection),
                                             name="camvid val (hand-over)")
            self.pool_keys = list(self.train_keys)

    # -- models ----------------------------------------------------------------------------
    def pipeline(self, checkpoint: Path | None):
        import torch

        from segstudio.ml.model_cache import ModelCache
        from segstudio.ml.pipeline import open_pipeline

        if checkpoint is None:  # the starting weights, seeded as the trainer seeds them
            torch.manual_seed(self.args.seed)
            return open_pipeline(ARCH, "none", device="cpu", labels=self.labels, cache=ModelCache())
        return open_pipeline(None, str(checkpoint), device="cpu", labels=self.labels, cache=ModelCache())

    def finetune(self, keys: list[str], start: Path | None, out: Path) -> tuple[Path, dict, float]:
        """Fine-tune on ``keys`` (their corrected masks) from ``start`` (None: the starting weights) for
        ``steps(len(keys))`` steps; (best.pt, its card, seconds)."""
        from segstudio.ml.data.sources import OpenedData
        from segstudio.ml.data.semantic import SemanticDataset
        from segstudio.ml.training.trainer import TrainConfig, Trainer
        from segstudio.ml.usage import usage_of

        a = self.args
        sizes = {"crop": a.crop, "batch_size": a.batch_size, "base_size": None, "eval_size": None}
        if start is not None:  # the sizes the previous round's card records
            card = json.loads(start.with_suffix(".json").read_text("utf-8"))
            t = card.get("training", {})
            sizes = {"crop": t["crop"], "batch_size": t["batch_size"], "base_size": t.get("base_size"),
                     "eval_size": usage_of(card).working_size}
        samples = [self.data.train.samples[self.train_index[k]] for k in keys]
        iterations = self.steps(len(samples))
        repeats = max(1, math.ceil(iterations * sizes["batch_size"] / len(samples)))
        train = SemanticDataset(samples * repeats, self.labels, name="corrected")
        opened = OpenedData(train, self.selection, self.labels, "semantic",
                            {"source": "rounds", "path": str(self.data.summary.get("path", "")),
                             "train_images": len(samples), "val_images": len(self.selection)})
        lr = a.continue_lr if start is not None and a.continue_lr else None
        cfg = TrainConfig(ARCH, out, weights=str(start) if start else "none", epochs=1, lr=lr,
                          max_iterations=iterations, device="cpu", workers=0, seed=a.seed, fit_crf=False,
                          blend=not getattr(a, "no_blend", False), **sizes)
        t0 = time.perf_counter()
        result = Trainer(cfg, opened).fit()
        seconds = time.perf_counter() - t0
        (out / "last.pt").unlink(missing_ok=True)  # a finished round is never resumed
        best = Path(result.best_path)
        return best, json.loads(best.with_suffix(".json").read_text("utf-8")), seconds

    def steps(self, images: int) -> int:
        """Optimiser steps of a fine-tune on ``images`` labelled images: ``--iterations``, or
        ``--steps-per-image`` × images when that is more."""
        return max(self.args.iterations, self.args.steps_per_image * images)

    # -- prediction and correction ---------------------------------------------------------------
    def predict(self, pipeline, dataset, key: str):
        i = dataset.keys.index(key) if dataset is not self.data.train else self.train_index[key]
        image, gt = dataset.read(i)
        return image, gt, pipeline.predict(image, key)

    def correct(self, pipeline, dataset, keys: list[str]) -> list:
        from segstudio.ml.rounds import correction_effort

        efforts = []
        for key in keys:
            image, gt, result = self.predict(pipeline, dataset, key)
            efforts.append(correction_effort(result.class_map, gt, "correct", key=key, image=image,
                                             memory=result.memory(), num_classes=self.n))
        return efforts

    def memories(self, pipeline, keys: list[str]) -> dict:
        """The prediction memory of each of ``keys`` (their uncertainty and what the model sees where)."""
        return {k: self.predict(pipeline, self.data.train, k)[2].memory() for k in keys}


def run_arm(loop: Loop, arm: str, shared: dict, log) -> list[dict]:
    from segstudio.ml.rounds import pick_random, pick_uncertain, summarise

    a = loop.args
    rng = np.random.default_rng(a.seed)
    labelled = list(shared["labelled"])
    checkpoint, card = shared["checkpoint"], shared["card"]
    rows = []
    for r in range(1, a.rounds + 1):
        t0 = time.perf_counter()
        pipeline = loop.pipeline(checkpoint)
        if r == 1 and "held_out_1" in shared:  # model 0 is the same for both arms
            held = shared["held_out_1"]
        else:
            held = summarise(loop.correct(pipeline, loop.held_out, loop.held_out.keys))
            if r == 1:
                shared["held_out_1"] = held
        unlabelled = [k for k in loop.pool_keys if k not in set(labelled)]
        pool_info = None
        if arm == "random":
            picked = pick_random(unlabelled, a.batch, rng)
        else:
            pool = pick_random(unlabelled, a.pool, rng) if a.pool else unlabelled
            memories = loop.memories(pipeline, pool)
            scores = {k: m.mean_uncertainty() for k, m in memories.items()}
            picked = pick_uncertain(memories if a.clustered else scores, a.batch)
            pool_info = {"images": len(pool), "mean_uncertainty": float(np.mean(list(scores.values()))),
                         "picked_mean_uncertainty": float(np.mean([scores[k] for k in picked]))}
        t_pick = time.perf_counter()
        efforts = loop.correct(pipeline, loop.data.train, picked)
        batch = summarise(efforts)
        labelled += picked
        row = {"round": r, "arm": arm, "model": card.get("version") if card else "start",
               "model_val_miou": card["usage"]["validation"].get("score") if card else None,
               "working_size": pipeline.working_size, "picked": picked, "pool": pool_info, "batch": batch,
               "batch_images": [e.to_json() for e in efforts], "held_out": held,
               "labelled": len(labelled)}
        if r < a.rounds or a.final_model:
            start = checkpoint if a.start_from == "previous" else None
            new, new_card, secs = loop.finetune(labelled, start, loop.work / f"{arm}-{r}")
            row["finetune_s"] = round(secs, 1)
            row["finetune_steps"] = new_card.get("iteration")
            row["handover"] = handover(card, new_card)
            row["blend"] = new_card.get("blend")   # the blends with the model in use and their scores
            if row["handover"]["taken"]:
                checkpoint, card = new, new_card
        row["seconds"] = round(time.perf_counter() - t0, 1)
        row["pick_s"] = round(t_pick - t0, 1)
        rows.append(row)
        log(f"{arm} round {r}: {line(row)}  ({row['seconds']:.0f} s)")
    return rows


def handover(card: dict | None, new_card: dict) -> dict:
    """The app's rule (``app.handover``): a new checkpoint replaces the model in use only when it
    scores at least as well on the same validation images (here: the hand-over images)."""
    score = lambda c: c["usage"]["validation"]["score"] if c else None  # noqa: E731
    old, new = score(card), score(new_card)
    return {"taken": old is None or (new is not None and new >= old), "in_use_score": old, "new_score": new}


def line(row: dict) -> str:
    b, h = row["batch"], row["held_out"]
    ho = row.get("handover")
    kept = "" if not ho or ho["taken"] else (f"; new model {100 * ho['new_score']:.1f} < "
                                            f"{100 * ho['in_use_score']:.1f}: kept the model in use")
    bl = row.get("blend") or {}
    blended = (f"; new model = {bl['chosen']:g} of its trained weights blended with the model in use"
               if bl.get("chosen", 1.0) != 1.0 else "")
    return (f"batch wrong {100 * b['wrong_share']:.1f}%, {b['clicks_per_image']:.1f} clicks/img, "
            f"{b['left_per_image']:.0f} px left/img; held-out wrong {100 * h['wrong_share']:.1f}%, "
            f"{h['clicks_per_image']:.1f} clicks/img{blended}{kept}")


def table(rows: list[dict], batch0: dict, n_held: int, split: str = "train") -> str:
    head = (f"{'round':>5} {'arm':<11} {'hand mIoU':>9} | {'batch PA0':>9} {'wrong0':>7} {'clicks':>6} "
            f"{'left px':>8} {'≥90%':>5} | {'held PA0':>8} {'wrong0':>7} {'clicks':>6} {'left px':>8} {'≥90%':>5}")
    out = [f"per image: clicks = robot clicks (stop at 90 % PA or 20), left px = pixels then painted by hand; "
           f"PA0 / wrong0 = pixel accuracy / share of pixels wrong before any click (%); held-out = the same "
           f"{n_held} {split} images every round; hand mIoU = the predicting model's on the hand-over images", head]

    def cells(s: dict | None) -> str:
        if s is None:
            return f"{'-':>8} {'-':>7} {'-':>6} {'-':>8} {'-':>5}"
        return (f"{100 * s['pixel_accuracy']:8.2f} {100 * s['wrong_share']:7.2f} {s['clicks_per_image']:6.2f} "
                f"{s['left_per_image']:8.0f} {s['reached']:2d}/{s['images']:<2d}")
    out.append(f"{0:>5} {'both':<11} {'-':>9} | {cells(batch0)} | {cells(None)}")
    for r in sorted({x['round'] for x in rows}):
        for x in (x for x in rows if x["round"] == r):
            m = x["model_val_miou"]
            out.append(f"{r:>5} {x['arm']:<11} {100 * m if m is not None else float('nan'):9.2f} | "
                       f"{cells(x['batch'])} | {cells(x['held_out'])}")
    return "\n".join(out)


def targets(rows: list[dict], rounds: int) -> list[str]:
    lines = []
    last = min(6, rounds)
    for arm in ARMS:
        mine = sorted((x for x in rows if x["arm"] == arm), key=lambda x: x["round"])
        if not mine:
            continue
        for where in ("batch", "held_out"):
            w = [x[where]["wrong_share"] for x in mine]
            falls = all(b < a for a, b in zip(w, w[1:]))
            ratio = w[last - 1] / w[0] if w[0] else float("nan")
            lines.append(f"{arm:<11} {where:<8}: share wrong before any click by round "
                         + " ".join(f"{100 * v:.1f}" for v in w)
                         + f" -> falls every round: {'yes' if falls else 'NO'}; round {last} / round 1 = "
                         f"{ratio:.2f} (target <= 0.75): {'OK' if ratio <= 0.75 else 'MISSED'}")
    by = {(x["arm"], x["round"]): x for x in rows}
    span = [r for r in range(2, last + 1) if ("random", r) in by and ("uncertainty", r) in by]
    if span:
        for where, name in (("held_out", "held-out (fair: the next model on the same images)"),
                            ("batch", "picked batch (what the annotator paid that round)")):
            c = {arm: sum(by[(arm, r)][where]["clicks"] for r in span) for arm in ARMS}
            p = {arm: sum(by[(arm, r)][where]["left_per_image"] * by[(arm, r)][where]["images"] for r in span)
                 for arm in ARMS}
            ratio = c["uncertainty"] / c["random"] if c["random"] else float("nan")
            pr = p["uncertainty"] / p["random"] if p["random"] else float("nan")
            verdict = f" (target <= 0.9): {'OK' if ratio <= 0.9 else 'MISSED'}" if where == "held_out" else ""
            lines.append(f"clicks, uncertainty / random over rounds {span[0]}-{span[-1]}, {name}: "
                         f"{c['uncertainty']} / {c['random']} = {ratio:.2f}{verdict}; pixels left to paint "
                         f"{pr:.2f}x")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="CamVid folder")
    ap.add_argument("--rounds", type=int, default=6, help="rounds after round 0 (6)")
    ap.add_argument("--batch", type=int, default=10, help="images corrected per round (10)")
    ap.add_argument("--iterations", type=int, default=200, help="optimiser steps per round's fine-tune (200)")
    ap.add_argument("--steps-per-image", type=int, default=0, help="at least this many steps per labelled "
                    "image (0: --iterations for every round)")
    ap.add_argument("--start-from", choices=("previous", "start"), default="previous",
                    help="each round's fine-tune continues from the model in use (previous) or trains from the "
                    "starting weights again, as the Train tab does with its default weights (start)")
    ap.add_argument("--held-out", type=int, default=20, help="val images every model is judged on (20)")
    ap.add_argument("--judge-on", choices=("train", "val"), default="train",
                    help="where the held-out and hand-over images come from: set aside from the train folder, "
                    "the images being labelled, as the app splits a project (train), or CamVid's val split, "
                    "one of the train folder's three sequences (val)")
    ap.add_argument("--selection", type=int, help="other images the hand-over rule (and the blend) scores each "
                    "new model on (train: 37, a tenth of the folder, the app's split; val: 81, every val image "
                    "not held out)")
    ap.add_argument("--pool", type=int, default=0, help="uncertainty arm: rank N unlabelled images drawn at "
                    "random (0: all of them)")
    ap.add_argument("--continue-lr", type=float, help="learning rate of the fine-tunes that continue from the "
                    "previous round's model (default: the trainer's, 0.01, as for round 0)")
    ap.add_argument("--no-blend", action="store_true", help="keep each fine-tune's trained weights: do not try "
                    "blends with the weights it started from (the trainer's default, training/blend.py)")
    ap.add_argument("--plain-uncertainty", dest="clustered", action="store_false",
                    help="uncertainty arm: the 10 most uncertain images, near-duplicates and all (default: one per "
                    "cluster of scenes among the 100 most uncertain: core.batch_pick.pick_clustered)")
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: see Budget)")
    ap.add_argument("--final-model", action="store_true", help="also fine-tune after the last round")
    ap.add_argument("--keep", metavar="DIR", help="keep the checkpoints in DIR (default: a temporary folder, "
                    "removed at the end)")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--quick", action="store_true", help="a few-minute check that it runs (figures mean nothing)")
    args = ap.parse_args()
    if args.selection is None:
        args.selection = 37 if args.judge_on == "train" else 81
    if args.quick:
        args.rounds, args.batch, args.iterations, args.held_out, args.pool = 2, 4, 20, 4, args.pool or 16
        args.selection = 4
    arms = [a for a in args.arms.split(",") if a]
    if any(a not in ARMS for a in arms):
        print(f"error: --arms takes {', '.join(ARMS)}", file=sys.stderr)
        return 2

    import torch

    from segstudio.ml.rounds import summarise

    torch.set_num_threads(max(1, args.threads))
    root = find_camvid(args.data)
    data = open_camvid(root)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-rounds-"))
    work.mkdir(parents=True, exist_ok=True)
    loop = Loop(args, data, work)
    t_start = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.0f} s] {text}", flush=True)

    log(f"camvid {root}: {len(loop.pool_keys)} train images to label, {len(loop.held_out)} held-out and "
        f"{len(loop.selection)} hand-over images from the {args.judge_on} split; "
        f"{args.rounds} rounds of {args.batch}; fine-tunes of {args.batch_size}×{args.crop}² steps: "
        f"{max(args.iterations, args.steps_per_image * args.batch)} for the first {args.batch} images, "
        f"{max(args.iterations, args.steps_per_image * args.batch * args.rounds)} for the last set, from the "
        f"{'model in use' if args.start_from == 'previous' else 'starting weights'}; "
        f"{torch.get_num_threads()} torch thread(s); load avg {open('/proc/loadavg').read().split()[0]}")
    try:
        first = loop.train_keys[:args.batch]
        efforts0 = loop.correct(loop.pipeline(None), data.train, first)
        batch0 = summarise(efforts0)
        log(f"round 0 (starting weights): batch wrong {100 * batch0['wrong_share']:.1f}%, "
            f"{batch0['clicks_per_image']:.1f} clicks/img")
        checkpoint, card, secs = loop.finetune(first, None, work / "shared-0")
        log(f"model 0: {card['iteration']} steps in {secs:.0f} s, working size {card['usage']['working_size']} px, "
            f"hand-over val mIoU {100 * card['usage']['validation']['score']:.2f}")
        shared = {"labelled": first, "checkpoint": checkpoint, "card": card}
        rows = []
        for arm in arms:
            rows += run_arm(loop, arm, shared, log)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(table(rows, batch0, len(loop.held_out), args.judge_on))
    print()
    for text in targets(rows, args.rounds):
        print(text)
    total = time.perf_counter() - t_start
    print(f"\n{total / 60:.1f} min in all; load avg at the end {open('/proc/loadavg').read().split()[0]}")
    if args.json:
        out = {"settings": {k: v for k, v in vars(args).items() if k not in ("json",)},
               "held_out_keys": loop.held_out.keys,
               "round0": {"picked": first, "batch": batch0, "batch_images": [e.to_json() for e in efforts0],
                          "model": card.get("version"), "finetune_s": round(secs, 1)},
               "rounds": rows, "targets": targets(rows, args.rounds), "minutes": round(total / 60, 2)}
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", "utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
