"""Import labelme JSON files.

SOURCE is one labelme ``.json`` file or a folder searched recursively.  Each
file's ``imagePath`` (relative to the JSON file, inside SOURCE) names the
image; when it is missing and the file embeds ``imageData``, that image is
used.  Shapes are drawn in file order like labelme's own converter
(polygon, rectangle, circle, mask); shapes with the same label and
``group_id`` form one instance, every other shape is an instance of its own.
``_background_``/``background`` shapes paint class 0 and ``__ignore__``/
``void`` shapes paint void; lines and points have no area and are skipped
(counted in the notes).  Labels map to classes by name: with ``labels`` an
unknown name is an error; without, the classes are background plus the
names found, sorted.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import VOID_ID, LabelSet
from segstudio.errors import FormatError
from segstudio.formats.imports.common import ImportItem, Notes, build_project, read_json
from segstudio.formats.names import inside, safe_relpath
from segstudio.formats.project import Project
from segstudio.formats.staging import CancelFn, ProgressFn

BACKGROUND = ("_background_", "background")
VOID = ("__ignore__", "void")
AREA_SHAPES = ("polygon", "rectangle", "circle", "mask")


def _json_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FormatError(f"{source}: not found; give a labelme JSON file or a folder of them")
    files = sorted(p for p in source.rglob("*.json") if not any(part.startswith(".") for part in p.parts))
    if not files:
        raise FormatError(f"{source}: no labelme .json files in this folder")
    return files


def _shapes(data, src: str) -> list[dict]:
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        raise FormatError(f"{src}: not a labelme file (no \"shapes\" list)")
    for s in data["shapes"]:
        if not isinstance(s, dict) or not isinstance(s.get("label"), str) or not isinstance(s.get("points"), list):
            raise FormatError(f"{src}: each shape needs a \"label\" and \"points\"")
    return data["shapes"]


def shape_mask(shape: dict, h: int, w: int, where: str) -> np.ndarray | None:
    kind = shape.get("shape_type") or "polygon"
    try:
        pts = [(float(x), float(y)) for x, y in shape["points"]]
    except (TypeError, ValueError):
        raise FormatError(f"{where}: shape '{shape['label']}' has points that are not (x, y) pairs") from None
    if kind not in AREA_SHAPES:
        return None
    im = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(im)
    if kind == "polygon":
        if len(pts) < 3:
            raise FormatError(f"{where}: polygon '{shape['label']}' has fewer than 3 points")
        draw.polygon(pts, outline=1, fill=1)
    elif kind == "rectangle":
        (x0, y0), (x1, y1) = pts[:2]
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
    elif kind == "circle":
        (cx, cy), (px, py) = pts[:2]
        r = float(np.hypot(px - cx, py - cy))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    else:  # mask: a PNG of the box given by the two points
        try:
            m = np.array(Image.open(io.BytesIO(base64.b64decode(shape["mask"]))).convert("L")) > 0
        except Exception as e:  # noqa: BLE001 - any decoding failure is bad input
            raise FormatError(f"{where}: mask shape '{shape['label']}' has unreadable mask data ({e})") from None
        x0, y0 = int(round(pts[0][0])), int(round(pts[0][1]))
        out = np.zeros((h, w), bool)
        hh, ww = min(m.shape[0], h - y0), min(m.shape[1], w - x0)
        if hh > 0 and ww > 0 and x0 >= 0 and y0 >= 0:
            out[y0:y0 + hh, x0:x0 + ww] = m[:hh, :ww]
        return out
    return np.array(im, bool)


def labelme_annotation(h: int, w: int, shapes: list[dict], labels: LabelSet, where: str, notes: Notes) -> Annotation:
    cm = np.zeros((h, w), np.uint8)
    inst = np.zeros((h, w), np.int32)
    groups: dict[tuple, int] = {}
    classes: dict[int, int] = {}
    skipped = 0
    for shape in shapes:
        m = shape_mask(shape, h, w, where)
        if m is None:
            skipped += 1
            continue
        name = shape["label"].strip()
        if name.lower() in BACKGROUND or name.lower() in VOID:
            cm[m] = 0 if name.lower() in BACKGROUND else VOID_ID
            inst[m] = 0
            continue
        cls = labels.id_of(name)
        gid = shape.get("group_id")
        key = (name, gid) if gid is not None else ("#", len(groups))
        k = groups.setdefault(key, len(groups) + 1)
        classes[k] = cls
        cm[m] = cls
        inst[m] = k
    if skipped:
        notes.add(f"{where}: {skipped} shapes without area (lines, points) were skipped")
    present = set(np.unique(inst).tolist())
    gone = [k for k in classes if k not in present]
    if gone:
        notes.add(f"{where}: {len(gone)} shapes are completely covered by later shapes and were left out")
    return Annotation(cm, inst, {k: Instance(c, None, "user") for k, c in classes.items() if k in present})


def import_labelme(source: str | os.PathLike, project_dir: str | os.PathLike, labels: LabelSet | None = None,
                   progress: ProgressFn | None = None, cancelled: CancelFn | None = None) -> Project:
    """Create a project in ``project_dir`` from labelme JSON file(s) at ``source``."""
    source = Path(source)
    root = source.parent if source.is_file() else source
    files = _json_files(source)
    notes = Notes()
    found: list[tuple[Path, str, Path | None, dict]] = []
    names: set[str] = set()
    for jf in files:
        data = read_json(jf)
        shapes = _shapes(data, str(jf))
        names |= {s["label"].strip() for s in shapes
                  if s["label"].strip().lower() not in BACKGROUND + VOID
                  and (s.get("shape_type") or "polygon") in AREA_SHAPES}
        rel_json_dir = jf.parent.relative_to(root).as_posix()
        image_path = data.get("imagePath")
        img: Path | None = None
        if image_path:
            rel = safe_relpath(image_path, str(jf), "imagePath")
            rel = rel if rel_json_dir == "." else f"{rel_json_dir}/{rel}"
            img = inside(root, rel, str(jf))
        if img is None or not img.is_file():
            if not data.get("imageData"):
                raise FormatError(f"{jf}: image {img or image_path!r} not found and the file embeds no imageData; "
                                  "put the image beside the JSON file")
            rel = (jf.with_suffix(".png").relative_to(root)).as_posix()
            img = None
            notes.add(f"{jf}: image taken from its embedded imageData")
        h, w = data.get("imageHeight"), data.get("imageWidth")
        size = (int(w), int(h)) if isinstance(w, int) and isinstance(h, int) else None
        found.append((jf, rel, img, {"shapes": shapes, "size": size,
                                     "imageData": data.get("imageData") if img is None else None}))
    if labels is None:
        labels = LabelSet(["background"] + sorted(names, key=str.lower), name=str(source))
    else:
        unknown = sorted(n for n in names if labels.get_id(n) is None)
        if unknown:
            raise FormatError(f"{source}: labels {unknown[:10]} are not in label set '{labels.name}'; add them to the "
                              "label file (or rename the shapes)")
    staging = Path(project_dir).parent / f".{Path(project_dir).name}.labelme-images"
    items = []
    try:
        for jf, rel, img, info in found:
            if img is None:  # write the embedded image once, outside the source folder
                img = staging / rel
                img.parent.mkdir(parents=True, exist_ok=True)
                try:
                    Image.open(io.BytesIO(base64.b64decode(info["imageData"]))).save(img, format="PNG")
                except Exception as e:  # noqa: BLE001 - any decoding failure is bad input
                    raise FormatError(f"{jf}: unreadable imageData ({e})") from None
            items.append(ImportItem(img, rel, lambda h, w, jf=jf, info=info: labelme_annotation(
                h, w, info["shapes"], labels, str(jf), notes), declared_size=info["size"]))
        settings = {"import": {"format": "labelme", "source": str(source)}}
        return build_project(project_dir, labels, items, settings, [root], notes, progress, cancelled)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
