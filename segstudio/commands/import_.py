"""Create a project from a dataset made elsewhere.  The images are copied into
the new project folder (sources are never modified) and every annotation is
saved as the project's masks.

voc: SOURCE is a Pascal VOC root (the folder holding VOCdevkit, or
VOCdevkit/VOC2012).  coco: SOURCE is one or more instances JSON files, images
under --images DIR (default: the JSON's folder).  masks: SOURCE is the image
folder, --masks DIR the masks with the same names, --labels FILE the class
table (line 1 is id 0) and --void ID the id meaning "unlabelled".  labelme:
SOURCE is a labelme JSON file or a folder of them.  Ids or names that the
label set does not have are an error unless mapped (--map SRC:DST)."""

from __future__ import annotations

import argparse

from segstudio.commands.argtypes import int_range, output_dir

NAME = "import"
HELP = "create a project from Pascal VOC, COCO, image+mask folders or labelme files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="+", metavar="SOURCE", help="the dataset (see above)")
    p.add_argument("--format", required=True, choices=("voc", "coco", "masks", "labelme"), help="dataset format")
    p.add_argument("--project", required=True, type=output_dir, metavar="DIR",
                   help="the new project folder (must not exist or be empty)")
    p.add_argument("--images", metavar="DIR", help="coco: folder the file_names are relative to")
    p.add_argument("--masks", metavar="DIR", help="masks: the mask folder")
    p.add_argument("--labels", metavar="FILE",
                   help="label file (one class per line, line 1 is id 0), or 'voc' / 'coco' for the built-in sets")
    p.add_argument("--void", type=int_range(0, 255), metavar="ID",
                   help="masks: the mask id meaning unlabelled; becomes void (255)")
    p.add_argument("--map", action="append", default=[], metavar="SRC:DST[,SRC:DST...]",
                   help="map ids: mask ids (masks, voc) or category ids (coco) to class ids; repeatable")
    p.add_argument("--overlap", choices=("smaller", "later", "error"), default="smaller",
                   help="coco: where instances overlap, the pixel goes to the smaller (default) or later one, "
                        "or stop with an error")


def parse_map(items: list[str]) -> dict[int, int] | None:
    from segstudio.errors import SegStudioError

    out: dict[int, int] = {}
    for item in items:
        for pair in item.split(","):
            if not pair.strip():
                continue
            try:
                src, dst = (int(v) for v in pair.split(":"))
            except ValueError:
                raise SegStudioError(f"--map {pair!r}: write it as SRC:DST with integer ids, e.g. 11:255") from None
            if not (0 <= src <= 65535 and 0 <= dst <= 255):
                raise SegStudioError(f"--map {pair!r}: the target must be a class id 0..254 or 255 (void)")
            out[src] = dst
    return out or None


def _labels(value: str | None):
    if value is None:
        return None
    from segstudio.core.labels import LabelSet
    from segstudio.formats.labelfile import read_label_file

    if value.lower() == "voc":
        return LabelSet.voc()
    if value.lower() == "coco":
        return LabelSet.coco_things()
    return read_label_file(value)


def run(args: argparse.Namespace) -> int:
    from segstudio.errors import SegStudioError
    from segstudio.formats import imports
    from segstudio.progress import ProgressBar

    labels = _labels(args.labels)
    id_map = parse_map(args.map)
    if args.format != "coco" and len(args.source) > 1:
        raise SegStudioError(f"--format {args.format} takes one SOURCE, got {len(args.source)}")
    source = args.source[0]
    with ProgressBar(None, f"import {args.format}") as bar:
        def progress(done: int, total: int, message: str) -> None:
            bar.set(done, total)

        if args.format == "voc":
            project = imports.import_voc(source, args.project, labels=labels, id_map=id_map, progress=progress)
        elif args.format == "coco":
            project = imports.import_coco(args.source, args.project, images_dir=args.images, labels=labels,
                                          id_map=id_map, overlap=args.overlap, progress=progress)
        elif args.format == "masks":
            if not args.masks or labels is None:
                raise SegStudioError("--format masks needs --masks DIR (the masks) and --labels FILE (the classes)")
            project = imports.import_masks(source, args.project, args.masks, labels, void_id=args.void,
                                           id_map=id_map, progress=progress)
        else:
            project = imports.import_labelme(source, args.project, labels=labels, progress=progress)
    labelled = len(project.labelled_keys())
    print(f"{args.format}: {len(project.images)} images ({labelled} annotated), {len(project.labels)} classes "
          f"-> {project.root}")
    for note in project.settings.get("import", {}).get("notes", []):
        print(f"note: {note}")
    return 0
