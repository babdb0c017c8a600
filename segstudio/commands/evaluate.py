"""Compare predicted label maps with ground truth: pixel accuracy, mean
accuracy, mIoU, frequency-weighted IoU and per-class IoU, accuracy, Dice,
precision and recall.  Label PNGs are matched by file stem; pixels whose
ground truth is the ignore id (255) are not counted.  With --model (and
--weights) the model predicts first and is scored on --gt: a mask folder
(with --images), a project, a VOC root, or a COCO json (instance models: COCO
segm AP)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segstudio.commands.argtypes import int_range, output_file

NAME = "evaluate"
HELP = "score predicted masks against ground truth (mIoU, accuracy, per class)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gt", required=True, metavar="DIR",
                   help="folder of ground-truth label PNGs; with --model also a project, a VOC root or a COCO json")
    p.add_argument("--pred", metavar="DIR", help="folder of predicted label PNGs (same stems)")
    p.add_argument("--model", metavar="NAME", help="predict with this model and score it (see `segstudio models`)")
    p.add_argument("--weights", metavar="default|none|FILE", help="with --model: weights or a checkpoint "
                   "(default: default; a segstudio checkpoint alone is enough)")
    p.add_argument("--images", metavar="DIR", help="with --model and a mask folder: the images (same stems)")
    p.add_argument("--split", choices=("all", "train", "val"), default="all",
                   help="with --model: which images of a VOC root or split data to score (all)")
    p.add_argument("--void", type=int_range(0, 255), action="append", default=[], metavar="ID",
                   help="with --model: ground-truth id to treat as void (repeatable)")
    p.add_argument("--resize", "--size", dest="size", type=int_range(0), metavar="PX",
                   help="with --model: the working size, images' shorter side in PX (default: the size a "
                   "fine-tuned checkpoint was trained and validated at, else the weights' own; 0 = the image's "
                   "own size); scores stay at full size")
    p.add_argument("--crf", action="store_true", help="with --model: refine with the dense CRF (a fine-tuned "
                   "checkpoint's card gives the settings fitted to its validation images)")
    p.add_argument("--crf-force", action="store_true",
                   help="with --crf: refine even when the checkpoint's card says the CRF did not help")
    p.add_argument("--device", default="auto", help="with --model: auto, cpu, cuda or mps (auto)")
    p.add_argument("--num-classes", type=int_range(1, 256), metavar="N",
                   help="number of classes (default: the label set's size, or the largest id + 1)")
    p.add_argument("--ignore", type=int_range(0, 255), default=255, metavar="ID",
                   help="ground-truth id not counted (255)")
    p.add_argument("--labels", metavar="FILE", help="label file naming the classes (default: Pascal VOC names)")
    p.add_argument("--json", type=output_file, metavar="FILE", help="also write the metrics as JSON")


def _label_files(folder: Path) -> dict[str, Path]:
    from segstudio.errors import SegStudioError

    if not folder.is_dir():
        raise SegStudioError(f"{folder}: folder not found")
    files = {}
    for f in sorted(folder.iterdir()):
        if f.suffix.lower() == ".png" and not f.name.startswith("."):
            if f.stem in files:
                raise SegStudioError(f"{folder}: two label files with stem '{f.stem}'")
            files[f.stem] = f
    return files


def run(args: argparse.Namespace) -> int:
    from segstudio.core.labels import LabelSet
    from segstudio.core.metrics import ConfusionMatrix
    from segstudio.errors import SegStudioError
    from segstudio.formats.atomic import atomic_write_json
    from segstudio.formats.labelfile import read_label_file
    from segstudio.formats.masks import read_label_png
    from segstudio.progress import ProgressBar

    if args.model or args.weights:
        if args.pred:
            raise SegStudioError("give either --pred DIR or --model NAME, not both")
        from segstudio.commands._evaluate_model import run_model

        return run_model(args, _print_table)
    if not args.pred:
        raise SegStudioError("give --pred DIR (a folder of predicted label PNGs) or --model NAME")
    gt_files = _label_files(Path(args.gt))
    pred_files = _label_files(Path(args.pred))
    if not gt_files:
        raise SegStudioError(f"{args.gt}: no PNG label files")
    missing = sorted(set(gt_files) - set(pred_files))
    if missing:
        raise SegStudioError(f"{len(missing)} ground-truth files have no prediction in {args.pred} "
                             f"(first: {missing[0]}.png); predict them or remove them from --gt")
    labels = read_label_file(args.labels) if args.labels else None
    palette = labels.palette() if labels is not None else None

    maps = []
    max_id = 0
    with ProgressBar(len(gt_files), "reading") as bar:
        for stem, gt_path in gt_files.items():
            gt = read_label_png(gt_path, palette)  # colour masks decode through --labels' colours
            pred = read_label_png(pred_files[stem], palette)
            if gt.shape != pred.shape:
                raise SegStudioError(f"{pred_files[stem]} is {pred.shape[1]}×{pred.shape[0]} but "
                                     f"{gt_path} is {gt.shape[1]}×{gt.shape[0]}")
            valid = gt[gt != args.ignore]
            if valid.size:
                max_id = max(max_id, int(valid.max()))
            maps.append((gt, pred))
            bar.update()

    if args.num_classes:
        n = args.num_classes
    elif labels is not None:
        n = len(labels)
    else:
        n = max(max_id + 1, len(LabelSet.voc()))
    if labels is None:
        voc = LabelSet.voc()
        names = [voc.name_of(c) if c < len(voc) else f"class {c}" for c in range(n)]
    else:
        names = [labels.name_of(c) if c < len(labels) else f"class {c}" for c in range(n)]
    cm = ConfusionMatrix(n, args.ignore)
    for gt, pred in maps:
        cm.update(gt, pred)
    result = cm.compute().to_json(names)
    _print_table(result, sys.stdout)
    if args.json:
        atomic_write_json(args.json, result)
    return 0


def _fmt(v: float | None) -> str:
    return "   -  " if v is None else f"{100 * v:6.2f}"


def _print_table(result: dict, out) -> None:
    out.write(f"pixel accuracy      {_fmt(result['pixel_accuracy'])}\n")
    out.write(f"mean pixel accuracy {_fmt(result['mean_pixel_accuracy'])}\n")
    out.write(f"mIoU                {_fmt(result['miou'])}\n")
    out.write(f"frequency-weighted IoU {_fmt(result['fw_iou'])}\n\n")
    out.write(f"{'id':>3} {'class':<20} {'IoU':>6} {'acc':>6} {'dice':>6} {'prec':>6} {'recall':>6}\n")
    for row in result["per_class"]:
        if row["iou"] is None:
            continue
        out.write(f"{row['id']:>3} {row['name'][:20]:<20} {_fmt(row['iou'])} {_fmt(row['accuracy'])} "
                  f"{_fmt(row['dice'])} {_fmt(row['precision'])} {_fmt(row['recall'])}\n")
