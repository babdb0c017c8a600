"""What the exporters share: one pass over the project feeding dataset writers.

``run_export`` decides which images are written (the labelled ones, or the
given keys) and their train/val split, builds every output folder under a
temporary name (``StagedFolder``), reads each annotation once with
``Project.load_annotation`` and hands it to each ``DatasetWriter``, then moves
the folders into place.  Several formats can be written in the same pass
(``segstudio.formats.export.export_all``), so the annotations are decoded only once.  Nothing holds
more than one image's arrays at a time.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from segstudio.errors import FormatError, SegStudioError
from segstudio.formats.split import split_keys
from segstudio.formats.staging import CancelFn, Job, ProgressFn, StagedFolder, check_disjoint


@dataclass
class ExportSummary:
    format: str
    out_dir: str
    train: int = 0
    val: int = 0
    annotations: int = 0
    copied_images: int = 0
    reencoded_images: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def images(self) -> int:
        return self.train + self.val

    def to_json(self) -> dict:
        return {"format": self.format, "out_dir": self.out_dir, "images": self.images, "train": self.train,
                "val": self.val, "annotations": self.annotations, "copied_images": self.copied_images,
                "reencoded_images": self.reencoded_images, "notes": list(self.notes)}


@dataclass
class ExportPlan:
    project: object
    keys: list[str]        # sorted
    train: list[str]
    val: list[str]

    def split_of(self, key: str) -> str:
        return "val" if key in self._val else "train"

    def __post_init__(self) -> None:
        self._val = set(self.val)


def _signature(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


@dataclass
class ExportItem:
    """One image on its way out: the loaded annotation and where it came from."""

    image_id: int
    key: str
    ann: object
    src: Path                      # the image file
    saved: dict[str, Path]         # the annotation's files in the project
    _before: dict = field(default_factory=dict, repr=False)

    def saved_bytes(self, layer: str) -> bytes | None:
        """The bytes of a saved annotation file exactly as ``ann`` was loaded from, or None.

        None when the file was replaced since it was loaded (an autosave during
        the export): the caller then encodes ``ann`` itself.
        """
        path = self.saved[layer]
        before = self._before.get(layer)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return data if before is not None and _signature(path) == before else None


class DatasetWriter:
    """One output format.  ``begin`` once, ``add`` per image (in ``plan.keys`` order), ``finish`` once."""

    format = ""

    def begin(self, plan: ExportPlan, folder: Path, summary: ExportSummary) -> None:
        self.plan, self.folder, self.summary = plan, folder, summary

    def add(self, item: ExportItem) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def close(self) -> None:
        """Release open files (also after an error)."""

    def count_image(self, copied: bool) -> None:
        self.summary.copied_images += copied
        self.summary.reencoded_images += not copied


def export_keys(project, keys=None) -> list[str]:
    """The images an export writes: ``keys`` or the labelled images."""
    if keys is None:
        return project.labelled_keys()
    known = {e.key for e in project.images}
    missing = [k for k in keys if k not in known]
    if missing:
        raise FormatError(f"{project.root}: no image '{missing[0]}' in the project")
    return list(keys)


def project_split(project, keys, val_fraction, seed, keep_split: bool = True):
    """(train, val) keys; with ``keep_split`` a split kept in the project settings (from an import) is honoured."""
    return split_keys(keys, val_fraction, seed, fixed=project.settings.get("split") if keep_split else None)


def run_export(project, targets: list[tuple[DatasetWriter, str | os.PathLike]], val_fraction: float = 0.2,
               seed: int = 0, overwrite: bool = False, keys=None, progress: ProgressFn | None = None,
               cancelled: CancelFn | None = None, keep_split: bool = True) -> list[ExportSummary]:
    outs = [Path(out) for _, out in targets]
    for i, out in enumerate(outs):
        check_disjoint(out, project.root, what="export")
        for other in outs[:i]:
            check_disjoint(out, other, what="export")
    keys = sorted(export_keys(project, keys))
    if not keys:
        raise SegStudioError(f"{project.root}: no labelled images to export; label or predict some first")
    train, val = project_split(project, keys, val_fraction, seed, keep_split)
    plan = ExportPlan(project, keys, train, val)
    summaries = [ExportSummary(w.format, str(out), len(train), len(val)) for (w, _), out in zip(targets, outs)]
    staged = [StagedFolder(out, overwrite, "export") for out in outs]  # refuses existing folders up front
    job = Job(len(keys), progress, cancelled)
    with contextlib.ExitStack() as stack:
        folders = [stack.enter_context(s) for s in staged]
        writers = [w for w, _ in targets]
        for w in writers:
            stack.callback(w.close)
        for w, folder, summary in zip(writers, folders, summaries):
            w.begin(plan, folder, summary)
        for image_id, key in enumerate(keys, start=1):
            job.check()
            saved = project.annotation_files(key)
            before = {"class": _signature(saved["class"])}
            ann = project.load_annotation(key)
            src = project.image_path(key)
            if ann is None:
                raise FormatError(f"{src}: marked labelled but its annotation files are missing; "
                                  "open the project to re-save it")
            item = ExportItem(image_id, key, ann, src, saved, before)
            for w in writers:
                w.add(item)
            del ann, item
            job.step(key)
        for w in writers:
            w.finish()
    return summaries

