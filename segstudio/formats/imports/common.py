"""Building a new project from imported data.

An importer describes the images it found (``ImportItem``: where the file
is, the relative path it gets in the project, and a function that makes its
annotation) after checking everything it can without decoding pixels.  The
``build_project`` function then creates the project under a temporary
sibling name, copies the images (byte for byte - sources are never
modified), rasterises and saves the annotations one at a time, and renames
the folder into place: a failed or cancelled import leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from segstudio.core.annotation import Annotation
from segstudio.core.labels import VOID_ID, LabelSet
from segstudio.errors import FormatError, ImageLoadError
from segstudio.formats.images import IMAGE_EXTENSIONS, check_pixel_limit, image_size
from segstudio.formats.jsonfile import read_json  # noqa: F401 - the importers' JSON reader
from segstudio.formats.project import Project
from segstudio.formats.staging import CancelFn, Job, ProgressFn, StagedFolder, check_disjoint

IMPORTED_STATUS = "reviewed"
MAX_NOTES = 50


@dataclass
class ImportItem:
    src: Path                                     # the image file to copy
    rel: str                                      # its path in the project (posix)
    make: Callable[[int, int], Annotation | None] | None  # (height, width) -> annotation, None = unlabelled
    declared_size: tuple[int, int] | None = None  # (w, h) the dataset says the image has


class Notes(list):
    """Things a user should know about an import (never silent), kept short."""

    def add(self, text: str) -> None:
        if len(self) < MAX_NOTES:
            self.append(text)
        elif len(self) == MAX_NOTES:
            self.append("... (more notes left out)")


def check_unique_rels(items: list[ImportItem]) -> None:
    seen: dict[str, ImportItem] = {}
    for it in items:
        k = it.rel.casefold()
        if k in seen:
            other = seen[k]
            same = "the same file name" if other.rel == it.rel else "file names that differ only in case"
            raise FormatError(f"{other.src} and {it.src} have {same} ('{it.rel}'); rename one of them so "
                              "every image has its own name")
        seen[k] = it


def class_lut(labels: LabelSet, id_map: dict[int, int] | None = None, void_id: int | None = None) -> np.ndarray:
    """uint8 -> class id lookup; -1 marks ids that are neither a class, void nor mapped."""
    lut = np.full(256, -1, np.int32)
    lut[:len(labels)] = np.arange(len(labels))
    lut[VOID_ID] = VOID_ID
    if void_id is not None:
        lut[int(void_id)] = VOID_ID
    for src, dst in (id_map or {}).items():
        if not labels.is_valid(int(dst)):
            raise FormatError(f"mapping {src} -> {dst}: {dst} is not a class of the label set (0..{len(labels) - 1}) "
                              "nor void (255)")
        lut[int(src)] = int(dst)
    return lut


def apply_lut(ids: np.ndarray, lut: np.ndarray, source: str, labels: LabelSet) -> np.ndarray:
    out = lut[ids]
    if (out < 0).any():
        bad = sorted(set(np.unique(ids[out < 0]).tolist()))
        raise FormatError(f"{source}: holds ids {bad[:10]} that are not classes of the label set "
                          f"(0..{len(labels) - 1}) nor void (255); give a label file that lists them, "
                          "or map them (--map SRC:DST, --void ID)")
    return out.astype(np.uint8)


def build_project(project_dir: str | os.PathLike, labels: LabelSet, items: list[ImportItem], settings: dict,
                  sources: list[Path], notes: Notes, progress: ProgressFn | None = None,
                  cancelled: CancelFn | None = None) -> Project:
    project_dir = Path(project_dir)
    for s in sources:
        check_disjoint(project_dir, s, what="project")
    check_unique_rels(items)
    if not items:
        raise FormatError(f"{', '.join(map(str, sources))}: no images to import")
    job = Job(2 * len(items), progress, cancelled)
    staged = StagedFolder(project_dir, overwrite=False, what="project", can_overwrite=False)
    with staged as tmp:
        if staged.cleaned:
            notes.add(f"removed {len(staged.cleaned)} unfinished folders left beside {project_dir} by an "
                      "interrupted run")
        for it in items:
            job.check()
            dst = tmp / it.rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(it.src, dst)
            except FileNotFoundError:
                raise FormatError(f"{it.src}: image file not found; check the image folder") from None
            except OSError as e:
                raise FormatError(f"{it.src}: cannot be copied to {project_dir} ({e.strerror or e})") from None
            job.step(f"copying {it.rel}")
        settings = dict(settings)
        settings["import"] = dict(settings.get("import", {}), notes=list(notes))
        project = Project.create(tmp, labels, settings)
        keys = {e.relpath: e.key for e in project.images}
        for it in items:
            job.check()
            key = keys.get(it.rel)
            if key is None:
                raise FormatError(f"{it.src}: cannot be stored as project image '{it.rel}': the extension must be "
                                  f"one of {', '.join(IMAGE_EXTENSIONS)}, names starting with '.' and a top folder "
                                  "named 'annotations' are reserved; rename it")
            try:
                w, h = image_size(tmp / it.rel)
                check_pixel_limit(tmp / it.rel, w, h)  # before anything of its size is allocated
            except ImageLoadError as e:
                raise ImageLoadError(f"{it.src}: {str(e).split(': ', 1)[-1]}") from None
            if it.declared_size is not None and tuple(it.declared_size) != (w, h):
                raise FormatError(f"{it.src}: is {w}×{h} but the dataset says {it.declared_size[0]}×"
                                  f"{it.declared_size[1]}; fix the dataset's width/height or use the right image")
            ann = it.make(h, w) if it.make is not None else None
            if ann is not None:
                if ann.shape != (h, w):
                    raise FormatError(f"the mask of {it.src} is {ann.width}×{ann.height} but the image is {w}×{h}; "
                                      "masks must have the image's size")
                ann.status = IMPORTED_STATUS
                ann.user_mask = np.ones((h, w), bool)
                project.save_annotation(key, ann, durable=False)  # the staged folder is discarded on failure
            job.step(f"annotating {it.rel}")
        project.settings["import"]["notes"] = list(notes)
        project.save()
        if hasattr(os, "sync"):
            os.sync()  # once, instead of per file: the project is on disk before it gets its name
    return Project.open(project_dir)
