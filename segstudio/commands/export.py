"""Export a project's labelled images as a dataset other tools read.

voc: OUT/VOCdevkit/VOC2012/{JPEGImages, SegmentationClass, SegmentationObject,
ImageSets/Segmentation/{train,val,trainval}.txt, labels.txt} (torchvision's
VOCSegmentation reads it).  coco: OUT/instances_{train,val}.json beside a copy
of the images (RLE masks; --polygons where exact).  panoptic:
OUT/panoptic_{train,val}.json + PNGs with id = R + 256 G + 256^2 B.
The train/val split is deterministic (--seed).  The dataset is written under a
temporary name and moved into place at the end; an existing OUT is replaced
only with --overwrite."""

from __future__ import annotations

import argparse

from segstudio.commands.argtypes import float_range, output_dir

NAME = "export"
HELP = "export a project as Pascal VOC, COCO instances or COCO panoptic"
FORMATS = ("voc", "coco", "panoptic")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", metavar="PROJECT", help="the project folder")
    p.add_argument("--format", required=True, metavar="voc|coco|panoptic",
                   help="dataset format; several separated by commas (voc,coco) are written in one pass, "
                        "each into OUT/<format>")
    p.add_argument("--out", required=True, type=output_dir, metavar="DIR", help="output folder (created)")
    p.add_argument("--val-fraction", type=float_range(0, 1), default=0.2, metavar="F",
                   help="share of the labelled images in the val split (default 0.2)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the train/val split (default 0)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--skip-damaged", action="store_true",
                   help="leave out images whose saved annotation cannot be read (default: refuse to export)")
    p.add_argument("--resplit", action="store_true",
                   help="ignore the train/val split an imported dataset came with; split by --val-fraction/--seed")
    p.add_argument("--polygons", action="store_true",
                   help="coco: write polygons for masks without holes (only where they are exact), else RLE")
    p.add_argument("--unassigned", choices=("crowd", "components", "skip"), default="crowd",
                   help="coco: class pixels outside any instance become one iscrowd region per class (crowd, "
                        "default), one instance per connected component (components), or are left out (skip)")
    p.add_argument("--thing-classes", metavar="NAMES",
                   help="panoptic: comma-separated class names that are things (default: classes that have "
                        "instances)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from segstudio.errors import SegStudioError
    from segstudio.formats.export import export_all
    from segstudio.formats.project import Project
    from segstudio.progress import ProgressBar

    project = Project.open(args.project)
    if not project.exists_on_disk:
        raise SegStudioError(f"{args.project}: not a segstudio project (no segstudio.json); open it in segstudio "
                             "or import a dataset into it first")
    formats = [f.strip().lower() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats or len(set(formats)) != len(formats):
        raise SegStudioError(f"--format {args.format!r}: choose from {', '.join(FORMATS)} (each once)")
    outputs = {formats[0]: args.out} if len(formats) == 1 else {f: str(Path(args.out) / f) for f in formats}
    thing = None
    if args.thing_classes:
        thing = [project.labels.id_of(n) for n in args.thing_classes.split(",") if n.strip()]
    with ProgressBar(None, f"export {args.format}") as bar:
        def progress(done: int, total: int, message: str) -> None:
            bar.set(done, total)

        summaries = export_all(project, outputs, val_fraction=args.val_fraction, seed=args.seed,
                               overwrite=args.overwrite, progress=progress, polygons=args.polygons,
                               unassigned=args.unassigned, thing_classes=thing, keep_split=not args.resplit,
                               skip_damaged=args.skip_damaged)
    for summary in summaries.values():
        print(f"{summary.format}: {summary.images} images ({summary.train} train, {summary.val} val), "
              f"{summary.annotations} annotations -> {summary.out_dir}")
        for note in summary.notes:
            print(f"note: {note}")
    return 0
