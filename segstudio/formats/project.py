"""The project folder store.

A project is a folder of images (never modified) plus what segstudio saves
beside them::

    <root>/segstudio.json                 label set (and whether class 0 is background),
                                          model choice, settings
    <root>/annotations/class/<key>.png    class map: palette PNG, VOC colours, 255 void
    <root>/annotations/instance/<key>.png instance ids: 16-bit PNG
    <root>/annotations/user/<key>.png     pixels a person painted: 1-bit PNG
    <root>/annotations/meta/<key>.json    instance table, status, model, image size
    <root>/annotations/prediction/<key>.npz  what the last semantic prediction left: top-3
                                          classes and probabilities and the entropy on a
                                          grid of at most 320×320, and for models of at most
                                          24 classes every class's log-probability there
                                          (core.prediction_memory; ≤ 700 KB raw, ≤ 3.1 MB
                                          with all classes, compressed), written on its own
    <root>/annotations/prediction/index.jsonl  the uncertainty ranking: one ~380-byte line
                                          per saved prediction (key, mean normalised entropy,
                                          model, scene layout), compacted to one per image when
                                          it doubles (formats.prediction_index; ≤ ~770 bytes
                                          per image)

A project lists the images under its folder, subfolders included, except when
it was made by opening one image of a plain folder (``Project.for_image``):
then only the images directly in that folder, and the project file remembers
it (``"settings": {"subfolders": false}``).

``<key>`` is the image's path relative to the root without its extension
(``street/0001`` for ``street/0001.jpg``); when two images differ only by
extension the extension is kept in the key (``a.jpg``, ``a.png``).  The four
files of an annotation are replaced together (``atomic.Transaction``), so a
crash leaves the previous annotation or the new one, never a mix.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segstudio.core import batch_pick
from segstudio.core.annotation import STATUSES, Annotation, Instance
from segstudio.core.labels import LabelSet
from segstudio.core.prediction_memory import PredictionMemory
from segstudio.errors import EditError, FormatError, LabelError, ProjectError
from segstudio.formats import atomic, prediction_index
from segstudio.formats.fileaccess import missing_problem
from segstudio.formats.images import IMAGE_EXTENSIONS, image_size
from segstudio.formats.labelfile import read_text
from segstudio.formats.masks import (encode_instance_png, encode_label_png, encode_mask_png,
                                     read_instance_png, read_label_png, read_mask_png)

PROJECT_FILE = "segstudio.json"
ANNOTATIONS_DIR = "annotations"
FORMAT_NAME = "segstudio-project"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ImageEntry:
    key: str
    relpath: str  # posix path relative to the project root

    @property
    def name(self) -> str:
        return self.relpath.rsplit("/", 1)[-1]


def scan_images(root: Path, subfolders: bool = True) -> list[ImageEntry]:
    """Image files under ``root`` (recursively unless ``subfolders`` is False; hidden folders and
    annotations/ skipped), sorted."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = [] if not subfolders else sorted(
            d for d in dirnames if not d.startswith(".") and not (rel_dir == Path(".") and d == ANNOTATIONS_DIR))
        for f in filenames:
            if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_EXTENSIONS:
                found.append((rel_dir / f).as_posix())
    found.sort()
    stems: dict[str, int] = {}
    for rel in found:
        stem = rel.rsplit(".", 1)[0]
        stems[stem] = stems.get(stem, 0) + 1
    rels = set(found)
    entries = []
    for rel in found:
        stem = rel.rsplit(".", 1)[0]
        # a stem shared by two images, or equal to another image's name ("a.png" beside
        # "a.png.jpg"), would give two images one key: use the full name then
        entries.append(ImageEntry(stem if stems[stem] == 1 and stem not in rels else rel, rel))
    return entries


_RESTORE = "restore it from a backup or delete the files of this image under annotations/ to start over"


def _read_meta(meta: Path) -> dict:
    """An annotation table; ProjectError saying what is wrong (unreadable file, bad JSON, not an object)."""
    text = read_text(meta, "annotation table", ProjectError)
    try:
        data = json.loads(text)
    except RecursionError:
        raise ProjectError(f"{meta}: unreadable annotation (JSON nested too deeply); {_RESTORE}") from None
    except ValueError as e:
        raise ProjectError(f"{meta}: unreadable annotation (malformed JSON: {e}); {_RESTORE}") from None
    if not isinstance(data, dict):
        raise ProjectError(f"{meta}: unreadable annotation (not a JSON object); {_RESTORE}")
    return data


def _read_status(meta: Path) -> str:
    data = _read_meta(meta)
    status = data.get("status", "unlabelled")
    if status not in STATUSES:
        raise ProjectError(f"{meta}: unknown status {status!r} (expected one of {', '.join(STATUSES)}); "
                           f"fix the file, or {_RESTORE}")
    return status


class Project:
    def __init__(self, root: Path, labels: LabelSet, settings: dict, created: str | None = None):
        self.root = Path(root)
        self.labels = labels
        self.settings = dict(settings)
        self.created = created or _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        self.images: list[ImageEntry] = []
        self._by_key: dict[str, ImageEntry] = {}
        self._status: dict[str, str] = {}
        self._damaged: dict[str, str] = {}
        self.rescan()

    # -- opening -----------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, labels: LabelSet | None = None) -> "Project":
        """Open a project folder (or its segstudio.json); a plain image folder becomes a new project.

        ``labels`` is the label set for a new project (default Pascal VOC); it
        is ignored for an existing one.  Nothing is written until something is saved.
        """
        path = Path(path)
        if path.is_file() and path.name == PROJECT_FILE:
            path = path.parent
        problem = missing_problem(path, "folder")
        if problem is not None:
            raise ProjectError(f"{path}: {problem}")
        if not path.is_dir():
            raise ProjectError(f"{path}: is a file; open the folder that holds the images")
        atomic.recover(path / ANNOTATIONS_DIR)
        pfile = path / PROJECT_FILE
        if not pfile.exists():
            return cls(path, labels or LabelSet.voc(), {})
        text = read_text(pfile, "project file", ProjectError)  # missing, unreadable: said as such
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise ProjectError(f"{pfile}: not valid JSON ({e}); fix it or move it away to start over") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise ProjectError(f"{pfile}: not a segstudio project file (no \"format\": \"{FORMAT_NAME}\")")
        version = data.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ProjectError(f"{pfile}: \"version\" must be a whole number, got {version!r}; fix the file")
        if version > FORMAT_VERSION:
            raise ProjectError(f"{pfile}: made by a newer segstudio (format version {data.get('version')}); "
                               "update segstudio to open it")
        background = data.get("background_class")  # absent in older files: decided by class 0's name
        try:
            project_labels = LabelSet.from_json(data["labels"], name=str(pfile),
                                                background=None if background is None else bool(background))
        except (KeyError, LabelError) as e:
            raise ProjectError(f"{pfile}: bad label set ({e})") from None
        settings = data.get("settings") or {}
        if not isinstance(settings, dict):
            raise ProjectError(f"{pfile}: \"settings\" must be an object")
        return cls(path, project_labels, settings, data.get("created"))

    @classmethod
    def for_image(cls, path: str | os.PathLike, labels: LabelSet | None = None) -> tuple["Project", str]:
        """The project an image file belongs to, and the image's key.

        The nearest folder above the image that holds a project and lists the
        image is opened.  Otherwise the image's own folder becomes a new project
        of the images directly in it: its subfolders (other projects, exports,
        masks) are not scanned.  An image under a project's ``annotations/``
        folder is refused (it is a saved mask, not an image to label).
        """
        path = Path(path).expanduser().resolve()
        for folder in path.parents:
            if (folder / PROJECT_FILE).is_file():
                project = cls.open(folder)
                key = project.key_for_path(path)
                if key is not None:
                    return project, key
                if (folder / ANNOTATIONS_DIR) in path.parents:
                    raise ProjectError(f"{path}: is a saved annotation of the project {folder}, not an image "
                                       "to label; open the project folder instead")
        project = cls.open(path.parent, labels)
        if not project.exists_on_disk:
            project.settings["subfolders"] = False
            project.rescan()
        key = project.key_for_path(path)
        if key is None:
            raise ProjectError(f"{path}: not an image of {path.parent} (hidden or reserved name); "
                               "open the folder that holds it")
        return project, key

    @classmethod
    def create(cls, root: str | os.PathLike, labels: LabelSet | None = None,
               settings: dict | None = None) -> "Project":
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        if (root / PROJECT_FILE).exists():
            raise ProjectError(f"{root}: already holds a project ({PROJECT_FILE}); open it instead")
        project = cls(root, labels or LabelSet.voc(), settings or {})
        project.save()
        return project

    @property
    def project_file(self) -> Path:
        return self.root / PROJECT_FILE

    @property
    def exists_on_disk(self) -> bool:
        return self.project_file.exists()

    def save(self) -> None:
        """Write segstudio.json (label set and settings)."""
        data = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "created": self.created,
                "labels": self.labels.to_json(), "background_class": self.labels.has_background,
                "settings": self.settings}
        try:
            atomic.atomic_write_json(self.project_file, data)
        except OSError as e:
            raise ProjectError(f"{self.project_file}: cannot be saved ({e.strerror or e})") from None

    def set_labels(self, labels: LabelSet) -> None:
        """Change the label set; refused if saved annotations use ids the new set lacks."""
        if len(labels) < len(self.labels):
            for entry in self.images:
                ann = self.load_annotation(entry.key) if self.has_annotation(entry.key) else None
                if ann is not None:
                    used = np.unique(ann.class_map)
                    bad = [int(v) for v in used if v != 255 and v >= len(labels)]
                    if bad:
                        raise ProjectError(f"{entry.relpath} uses class ids {bad} that the new label set "
                                           f"(ids 0..{len(labels) - 1}) does not have")
        self.labels = labels
        self.save()

    # -- images --------------------------------------------------------------
    def rescan(self) -> None:
        self.images = scan_images(self.root, subfolders=self.settings.get("subfolders", True) is not False)
        self._by_key = {e.key: e for e in self.images}
        self._status = {}
        self._damaged = {}

    def __len__(self) -> int:
        return len(self.images)

    def has_key(self, key: str) -> bool:
        return key in self._by_key

    def entry(self, key: str) -> ImageEntry:
        try:
            return self._by_key[key]
        except KeyError:
            raise ProjectError(f"no image '{key}' in project {self.root}") from None

    def key_for_path(self, path: str | os.PathLike) -> str | None:
        try:
            rel = Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None
        for e in self.images:
            if e.relpath == rel:
                return e.key
        return None

    def image_path(self, key: str) -> Path:
        return self.root / self.entry(key).relpath

    # -- annotation files ------------------------------------------------------
    def _files(self, key: str) -> dict[str, Path]:
        base = self.root / ANNOTATIONS_DIR
        return {"class": base / "class" / f"{key}.png", "instance": base / "instance" / f"{key}.png",
                "user": base / "user" / f"{key}.png", "meta": base / "meta" / f"{key}.json"}

    def memory_path(self, key: str) -> Path:
        self.entry(key)
        return self.root / ANNOTATIONS_DIR / "prediction" / f"{key}.npz"

    def save_prediction_memory(self, key: str, memory: PredictionMemory) -> None:
        """Keep what the last prediction of an image knew (atomic; replaces the previous one)."""
        import io

        path = self.memory_path(key)
        buf = io.BytesIO()
        np.savez_compressed(buf, **memory.to_arrays())
        try:
            atomic.atomic_write_bytes(path, buf.getvalue())
            prediction_index.append(path.parent, key, memory.mean_uncertainty(), memory.model,
                                    batch_pick.layout(memory))
        except OSError as e:
            raise ProjectError(f"{path}: the prediction's probabilities could not be saved ({e.strerror or e}); "
                               "check free space and write permission") from None

    def uncertainties(self) -> dict[str, float]:
        """Mean uncertainty (0 sure … 1 no idea) of each image's saved prediction, from the
        project's small ranking file (images never predicted are absent)."""
        return {k: v["u"] for k, v in self.ranking().items()}

    def ranking(self) -> dict[str, dict]:
        """The ranking file's entry of each predicted image of the project: ``u`` its mean
        uncertainty, ``layout`` its scene layout (``core.batch_pick.layout``; None for
        predictions saved before layouts were kept), ``model``, ``t``."""
        entries = prediction_index.read(self.root / ANNOTATIONS_DIR / "prediction")
        return {k: v for k, v in entries.items() if k in self._by_key}

    def load_prediction_memory(self, key: str) -> PredictionMemory | None:
        """The saved prediction memory of an image, or None if there is none."""
        path = self.memory_path(key)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                memory = PredictionMemory.from_arrays({k: z[k] for k in z.files}, str(path))
        except (OSError, ValueError, EOFError) as e:
            raise ProjectError(f"{path}: unreadable prediction memory ({e}); delete it and predict the "
                               "image again") from None
        except FormatError as e:
            raise ProjectError(f"{e}; delete it and predict the image again") from None
        return memory

    def annotation_files(self, key: str) -> dict[str, Path]:
        self.entry(key)
        return self._files(key)

    def has_annotation(self, key: str) -> bool:
        return self._files(key)["meta"].exists()

    def status(self, key: str) -> str:
        """unlabelled / predicted / edited / reviewed, from the saved annotation.

        An annotation table that cannot be read counts as unlabelled here and is
        listed by ``damaged()``, so nothing that exports or trains skips it silently.
        """
        if key not in self._status:
            self.entry(key)
            meta = self._files(key)["meta"]
            status = "unlabelled"
            self._damaged.pop(key, None)
            if os.path.lexists(meta):
                try:
                    status = _read_status(meta)
                except ProjectError as e:
                    self._damaged[key] = str(e)
                    status = "unlabelled"
            self._status[key] = status
        return self._status[key]

    def damaged(self) -> dict[str, str]:
        """{key: what is wrong} for images whose saved annotation table cannot be read."""
        self.statuses()
        return dict(self._damaged)

    def statuses(self) -> dict[str, str]:
        return {e.key: self.status(e.key) for e in self.images}

    def labelled_keys(self) -> list[str]:
        """Images whose saved annotation was edited or reviewed by a person, or predicted."""
        return [e.key for e in self.images if self.status(e.key) != "unlabelled"]

    def save_annotation(self, key: str, ann: Annotation, durable: bool = True) -> None:
        """Save an image's annotation: its four files replaced together (a crash leaves the old or the new).

        ``durable=False`` writes the files directly, without the transaction and its
        fsyncs: only for a project being built in a staged folder that a failure
        discards as a whole (an import), which syncs once at the end.
        """
        entry = self.entry(key)
        files = self._files(key)
        errors = ann.invariant_errors()
        if errors:
            raise ProjectError(f"{entry.relpath}: not saved, the annotation is inconsistent ({'; '.join(errors)})")
        ids = [k for k in ann.instances]
        if ids and max(ids) > 65535:
            raise ProjectError(f"{entry.relpath}: instance ids above 65535 cannot be saved; renumber instances")
        meta = {
            "image": entry.relpath, "width": ann.width, "height": ann.height,
            "status": ann.status, "model": ann.model,
            "instances": [inst.to_json(k) for k, inst in sorted(ann.instances.items())],
            "saved": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        }
        data = {
            "class": encode_label_png(ann.class_map, self.labels.palette()),
            "instance": encode_instance_png(ann.instance_map, entry.relpath),
            "user": encode_mask_png(ann.user_mask),
            "meta": atomic.json_bytes(meta),
        }
        ann_root = self.root / ANNOTATIONS_DIR
        if not durable:
            try:
                for name in ("class", "instance", "user", "meta"):
                    files[name].parent.mkdir(parents=True, exist_ok=True)
                    files[name].write_bytes(data[name])
            except OSError as e:
                raise ProjectError(f"{entry.relpath}: the annotation could not be written in {ann_root} "
                                   f"({e.strerror or e}); check free space and write permission") from None
            self._status[key] = ann.status
            self._damaged.pop(key, None)
            return
        if any(ann_root.glob(f"{atomic.JOURNAL_PREFIX}*")):
            atomic.recover(ann_root)  # finish an earlier save that failed after its commit point first
        tx = atomic.Transaction(ann_root)
        try:
            for name in ("class", "instance", "user", "meta"):
                tx.write(files[name], data[name])
            tx.commit()
        except OSError as e:
            tx.abort()
            raise ProjectError(f"{entry.relpath}: the annotation could not be saved in "
                               f"{self.root / ANNOTATIONS_DIR} ({e.strerror or e}); check free space and "
                               "write permission. Your edits are still open.") from None
        self._status[key] = ann.status
        self._damaged.pop(key, None)

    def load_annotation(self, key: str) -> Annotation | None:
        """The saved annotation of an image, or None if it has none."""
        entry = self.entry(key)
        files = self._files(key)
        if not os.path.lexists(files["meta"]):
            return None
        meta = _read_meta(files["meta"])
        try:
            class_map = read_label_png(files["class"])
            instance_map = read_instance_png(files["instance"])
            user = read_mask_png(files["user"]) if files["user"].exists() else None
            instances = {int(d["id"]): Instance(int(d["class_id"]), None if d.get("score") is None
                                                else float(d["score"]), d.get("source", "user"))
                         for d in meta.get("instances", [])}
            w, h = int(meta["width"]), int(meta["height"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError) as e:
            raise ProjectError(f"{files['meta']}: unreadable annotation ({e}); {_RESTORE}") from None
        except FormatError as e:
            raise ProjectError(f"annotation of {entry.relpath}: {e}") from None
        for name, a in (("class", class_map), ("instance", instance_map), ("user", user)):
            if a is not None and a.shape != (h, w):
                raise ProjectError(f"{files[name]}: is {a.shape[1]}×{a.shape[0]} but the annotation is {w}×{h}")
        try:
            ann = Annotation(class_map, instance_map, instances, user,
                             status=meta.get("status", "edited"), model=meta.get("model"))
        except EditError as e:
            raise ProjectError(f"{files['meta']}: {e}") from None
        errors = ann.invariant_errors()
        if errors:
            raise ProjectError(f"{files['meta']}: the saved annotation is inconsistent ({'; '.join(errors)})")
        return ann

    def new_annotation(self, key: str) -> Annotation:
        """An empty annotation of the image's size: background, or void when the labels have none."""
        w, h = image_size(self.image_path(key))
        return Annotation.blank(h, w, self.labels.empty_id)

    def load_or_new(self, key: str) -> Annotation:
        return self.load_annotation(key) or self.new_annotation(key)
