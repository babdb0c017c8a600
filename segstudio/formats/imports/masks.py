"""Import an image folder with a folder of label masks (e.g. CamVid).

Masks are matched to images by their path relative to their folder without
the extension (``a/0001.jpg`` <-> ``a/0001.png``).  A mask holds class ids
(8/16-bit grayscale or palette PNG; colour masks are decoded through the label
file's colours).  Ids must be classes of the label file, 255, the ``void_id``
(mapped to 255) or listed in ``id_map``; anything else is an error - ids are
never remapped silently.  Images without a mask are imported unlabelled (and
counted in the notes); a mask without an image is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

from segstudio.core.annotation import Annotation
from segstudio.core.labels import LabelSet
from segstudio.errors import FormatError
from segstudio.formats.fileaccess import missing_problem
from segstudio.formats.imports.common import ImportItem, Notes, apply_lut, build_project, class_lut
from segstudio.formats.masks import read_label_png
from segstudio.formats.names import inside
from segstudio.formats.project import Project, scan_images
from segstudio.formats.staging import CancelFn, ProgressFn

MASK_EXTENSIONS = (".png", ".bmp", ".tif", ".tiff", ".pgm")


def _by_stem(files: list[str], folder: Path, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for rel in files:
        stem = rel.rsplit(".", 1)[0]
        if stem.casefold() in out:
            raise FormatError(f"{folder}: two {what} files are named '{stem}' ({out[stem.casefold()]} and {rel}); "
                              "masks are matched to images by name, so rename one of them")
        out[stem.casefold()] = rel
    return out


def _mask_files(folder: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = Path(dirpath).relative_to(folder)
        found += [(rel_dir / f).as_posix() for f in filenames
                  if not f.startswith(".") and Path(f).suffix.lower() in MASK_EXTENSIONS]
    return sorted(found)


def mask_annotation(path: Path, labels: LabelSet, lut) -> Annotation:
    return Annotation(apply_lut(read_label_png(path, labels.palette()), lut, str(path), labels))


def import_masks(source: str | os.PathLike, project_dir: str | os.PathLike, masks_dir: str | os.PathLike,
                 labels: LabelSet, void_id: int | None = None, id_map: dict[int, int] | None = None,
                 progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> Project:
    """Create a project in ``project_dir`` from the images in ``source`` and the masks in ``masks_dir``."""
    source, masks_dir = Path(source), Path(masks_dir)
    for folder, what in ((source, "image"), (masks_dir, "mask")):
        if not folder.is_dir():
            raise FormatError(f"{folder}: {missing_problem(folder, what + ' folder') or 'is not a folder'}")
    if labels is None:
        raise FormatError("importing masks needs the class table: give a label file (--labels FILE)")
    if void_id is not None and not 0 <= int(void_id) <= 255:
        raise FormatError(f"the void id must be 0..255, got {void_id}")
    if void_id is not None and int(void_id) < len(labels) and int(void_id) != 255:
        raise FormatError(f"void id {void_id} is also class '{labels.name_of(int(void_id))}' of the label file; "
                          "remove that class from the label file or choose another void id")
    lut = class_lut(labels, id_map, void_id)
    images = _by_stem([e.relpath for e in scan_images(source)], source, "image")
    masks = _by_stem(_mask_files(masks_dir), masks_dir, "mask")
    orphans = sorted(set(masks) - set(images))
    if orphans:
        raise FormatError(f"{masks_dir / masks[orphans[0]]}: no image with this name in {source} "
                          f"({len(orphans)} masks without an image); check the two folders belong together")
    notes = Notes()
    items = []
    unlabelled = 0
    for stem, rel in sorted(images.items(), key=lambda kv: kv[1]):
        src = inside(source, rel, str(source))
        if stem in masks:
            mpath = inside(masks_dir, masks[stem], str(masks_dir))
            items.append(ImportItem(src, rel, lambda h, w, m=mpath: mask_annotation(m, labels, lut)))
        else:
            unlabelled += 1
            items.append(ImportItem(src, rel, None))
    if unlabelled:
        notes.add(f"{unlabelled} images in {source} have no mask in {masks_dir}; they were imported unlabelled")
    settings = {"import": {"format": "masks", "source": str(source), "masks": str(masks_dir),
                           "void_id": void_id, "id_map": {str(k): v for k, v in (id_map or {}).items()}}}
    return build_project(project_dir, labels, items, settings, [source, masks_dir], notes, progress, cancelled)
