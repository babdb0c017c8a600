"""Import COCO instances JSON (polygons, RLE, compressed RLE, iscrowd).

The file is read by ``formats.readers.coco`` (the reader training and
evaluation use too), which also decides the classes: without options they
come from the categories by name, a background category becomes class 0,
ids are made contiguous, and the notes say which category became which
class; ``labels`` matches categories to a label set by name and ``id_map``
maps ids explicitly.  Crowd regions (``iscrowd`` 1) become class pixels
that belong to no instance.  A project pixel holds one instance, so where
instances overlap the pixel goes to the smaller one (``overlap="smaller"``,
default), to the later one ("later"), or the import stops ("error"); the
notes count every pixel this affects.

Several JSON files can be imported together (e.g. ``instances_train.json``
and ``instances_val.json``); a file whose name contains "val" gives the
project's val split, the others the train split.
"""

from __future__ import annotations

import os
from pathlib import Path

from segstudio.core.labels import LabelSet
from segstudio.errors import FormatError
from segstudio.formats.imports.common import ImportItem, Notes, build_project
from segstudio.formats.project import Project
from segstudio.formats.readers.coco import OVERLAP_MODES, image_annotation, read_coco
from segstudio.formats.staging import CancelFn, ProgressFn

__all__ = ["OVERLAP_MODES", "import_coco"]


def import_coco(source, project_dir: str | os.PathLike, images_dir: str | os.PathLike | None = None,
                labels: LabelSet | None = None, id_map: dict[int, int] | None = None, overlap: str = "smaller",
                progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> Project:
    """Create a project in ``project_dir`` from COCO instances JSON file(s) ``source``.

    Images are looked up under ``images_dir`` (default: each JSON file's folder).
    """
    if overlap not in OVERLAP_MODES:
        raise FormatError(f"overlap must be one of {', '.join(OVERLAP_MODES)}, got {overlap!r}")
    jsons = [Path(source)] if isinstance(source, (str, os.PathLike)) else [Path(s) for s in source]
    notes = Notes()
    items: list[ImportItem] = []
    first = None
    split: dict[str, list[str]] = {"train": [], "val": []}
    folders = []
    for jpath in jsons:
        coco = read_coco(jpath, images_dir, labels, id_map)
        if first is None:
            first = coco
            if coco.mapping_note:
                notes.add(f"{jpath}: {coco.mapping_note}")
        elif coco.category_names != first.category_names or coco.labels != first.labels:
            raise FormatError(f"{jpath}: its categories differ from those of {jsons[0]}; import them separately")
        folders.append(Path(images_dir) if images_dir is not None else jpath.parent)
        if coco.box_only:
            notes.add(f"{jpath}: {coco.box_only} annotations have no segmentation (box only) and were not imported")
        part = "val" if "val" in jpath.stem.lower() else "train"
        for img in coco.images:
            items.append(ImportItem(
                img.path, img.file_name,
                lambda h, w, coco=coco, img=img: image_annotation(coco, img, notes, overlap),
                declared_size=(img.width, img.height)))
            split[part].append(img.file_name)
    settings: dict = {"import": {"format": "coco", "source": [str(j) for j in jsons],
                                 "categories": {str(c): k for c, k in sorted(first.mapping.items())}}}
    project = build_project(project_dir, first.labels, items, settings, folders + [j.parent for j in jsons],
                            notes, progress, cancelled)
    if len(jsons) > 1:  # keys are known only now (a stem shared by two images keeps its extension)
        by_rel = {e.relpath: e.key for e in project.images}
        project.settings["split"] = {k: sorted(by_rel[r] for r in v if r in by_rel) for k, v in split.items()}
        project.save()
    return project
