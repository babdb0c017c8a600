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
import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from segstudio.errors import FormatError, ProjectError, SegStudioError
from segstudio.formats.fileaccess import os_error_text
from segstudio.formats.split import split_keys
from segstudio.formats.staging import PARTIAL_MARK, CancelFn, Job, ProgressFn, StagedFolder, check_disjoint


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

    def drop(self, key: str) -> None:
        """Leave an image out (before any writer saw it): the lists writers finish with no longer hold it."""
        for members in (self.keys, self.train, self.val):
            if key in members:
                members.remove(key)
        self._val.discard(key)


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


def export_keys(project, keys=None, skip_damaged: bool = False, notes: list[str] | None = None) -> list[str]:
    """The images an export writes: ``keys`` or the labelled images.

    Images whose annotation table is damaged are never left out silently: the
    export is refused, or with ``skip_damaged`` they are left out and counted in ``notes``.
    """
    if keys is None:
        labelled = project.labelled_keys()
        damaged = project.damaged()
        if damaged and not skip_damaged:
            raise ProjectError(f"{len(damaged)} annotation{'s' if len(damaged) > 1 else ''} of {project.root} "
                               f"cannot be read, so {'their images' if len(damaged) > 1 else 'its image'} would "
                               f"be missing from the export: {next(iter(damaged.values()))}. Or export the rest "
                               "with --skip-damaged")
        if damaged and notes is not None:
            notes.append(_skipped_note(list(damaged.values())))
        return labelled
    known = {e.key for e in project.images}
    missing = [k for k in keys if k not in known]
    if missing:
        raise FormatError(f"{project.root}: no image '{missing[0]}' in the project")
    return list(keys)


def _skipped_note(problems: list[str]) -> str:
    return (f"left out {len(problems)} image{'s' if len(problems) > 1 else ''} whose annotation cannot be read "
            f"(--skip-damaged); first: {problems[0]}")


def _needed_bytes(project, keys: list[str], copies: int) -> int:
    """About how much an export writes: the images and saved class/instance maps, once per format."""
    total = 0
    for key in keys:
        files = project.annotation_files(key)
        for path in (project.image_path(key), files["class"], files["instance"]):
            try:
                total += os.stat(path).st_size
            except OSError:
                pass
    return total * copies


def _write_error(e: OSError, outs: list[Path], project, keys: list[str]) -> SegStudioError:
    where = e.filename or outs[0]
    if e.errno == errno.ENOSPC:
        needed = _needed_bytes(project, keys, len(outs))
        try:
            free = shutil.disk_usage(outs[0].parent if outs[0].parent.exists() else Path.cwd()).free
        except OSError:
            free = None
        have = f", {free / 1e6:.0f} MB are free" if free is not None else ""
        return SegStudioError(f"{outs[0]}: the disk is full (no space left writing {where}); the unfinished "
                              f"export was removed. It needs about {needed / 1e6:.0f} MB{have}: free some space "
                              "or choose another --out folder")
    verb = "written" if e.filename is None or PARTIAL_MARK in os.fsdecode(e.filename) else "read"
    return SegStudioError(f"{where}: cannot be {verb} ({os_error_text(e)}); the unfinished export was removed")


def project_split(project, keys, val_fraction, seed, keep_split: bool = True):
    """(train, val) keys; with ``keep_split`` a split kept in the project settings (from an import) is honoured."""
    return split_keys(keys, val_fraction, seed, fixed=project.settings.get("split") if keep_split else None)


def run_export(project, targets: list[tuple[DatasetWriter, str | os.PathLike]], val_fraction: float = 0.2,
               seed: int = 0, overwrite: bool = False, keys=None, progress: ProgressFn | None = None,
               cancelled: CancelFn | None = None, keep_split: bool = True,
               skip_damaged: bool = False) -> list[ExportSummary]:
    """Write ``keys`` (default: the labelled images) with every writer, each into its folder.

    A damaged annotation stops the export (nothing is written) unless
    ``skip_damaged``; a write error (disk full...) removes what was written
    and says why, with the space an export needs.
    """
    outs = [Path(out) for _, out in targets]
    for i, out in enumerate(outs):
        check_disjoint(out, project.root, what="export")
        for other in outs[:i]:
            check_disjoint(out, other, what="export")
    notes: list[str] = []
    keys = sorted(export_keys(project, keys, skip_damaged, notes))
    if not keys:
        raise SegStudioError(f"{project.root}: no labelled images to export; label or predict some first")
    train, val = project_split(project, keys, val_fraction, seed, keep_split)
    plan = ExportPlan(project, list(keys), train, val)
    summaries = [ExportSummary(w.format, str(out)) for (w, _), out in zip(targets, outs)]
    staged = [StagedFolder(out, overwrite, "export") for out in outs]  # refuses existing folders up front
    job = Job(len(keys), progress, cancelled)
    skipped: list[str] = []
    try:
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
                src = project.image_path(key)
                try:
                    ann = project.load_annotation(key)
                    if ann is None:
                        raise ProjectError(f"{src}: marked labelled but its annotation files are missing; "
                                           "open the project to re-save it")
                except ProjectError as e:
                    if not skip_damaged:
                        raise
                    skipped.append(str(e))
                    plan.drop(key)
                    job.step(key)
                    continue
                item = ExportItem(image_id, key, ann, src, saved, before)
                for w in writers:
                    w.add(item)
                del ann, item
                job.step(key)
            if not plan.keys:
                raise SegStudioError(f"{project.root}: no image could be exported; every annotation is damaged")
            for w in writers:
                w.finish()
    except OSError as e:
        raise _write_error(e, outs, project, keys) from None
    if skipped:
        notes.append(_skipped_note(skipped))
    cleaned = sum(len(s.cleaned) for s in staged)
    if cleaned:
        notes.append(f"removed {cleaned} unfinished export folder{'s' if cleaned > 1 else ''} left by an "
                     "interrupted run")
    for summary in summaries:
        summary.train, summary.val = len(plan.train), len(plan.val)
        summary.notes[:0] = notes
    return summaries
