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
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import VOID_ID, LabelSet
from segstudio.errors import FormatError
from segstudio.formats.fileaccess import missing_problem
from segstudio.formats.images import check_pixel_limit
from segstudio.formats.imports.common import ImportItem, Notes, build_project, read_json
from segstudio.formats.names import inside, safe_relpath
from segstudio.formats.polygons import check_perimeter, clip_polygon, perimeter, polygon_points
from segstudio.formats.project import Project
from segstudio.formats.staging import CancelFn, ProgressFn, clean_stale, make_partial, remove_partial

BACKGROUND = ("_background_", "background")
VOID = ("__ignore__", "void")
AREA_SHAPES = ("polygon", "rectangle", "circle", "mask")


def _json_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if not source.is_dir():
        problem = missing_problem(source) or "is neither a JSON file nor a folder"
        raise FormatError(f"{source}: {problem}; give a labelme JSON file or a folder of them")
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


def _points(shape: dict, where: str) -> np.ndarray:
    pts = shape["points"]
    if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pts):
        raise FormatError(f"{where}: shape '{shape['label']}' has points that are not (x, y) pairs")
    return polygon_points([v for p in pts for v in p], where, f"shape '{shape['label']}'")


def _need(pts: np.ndarray, n: int, kind: str, what: str, shape: dict, where: str) -> None:
    if len(pts) < n:
        raise FormatError(f"{where}: {kind} '{shape['label']}' needs {what} but has {len(pts)} point"
                          f"{'' if len(pts) == 1 else 's'}; fix or delete the shape in labelme")


def _circle(cx: float, cy: float, r: float, h: int, w: int) -> np.ndarray:
    """A circle of any size by distance from the centre (Pillow walks the whole outline of a huge one)."""
    ys, xs = np.ogrid[:h, :w]
    return np.hypot(xs - cx, ys - cy) <= r


def shape_mask(shape: dict, h: int, w: int, where: str) -> np.ndarray | None:
    """The shape's pixels (None for shapes without area); coordinates far outside the image are cut
    to a window around it first, so a shape costs what the image costs."""
    kind = shape.get("shape_type") or "polygon"
    if kind not in AREA_SHAPES:
        return None
    pts = _points(shape, where)
    im = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(im)
    margin = float(max(w, h))
    if kind == "polygon":
        _need(pts, 3, "polygon", "at least 3 points", shape, where)
        pts = clip_polygon(pts, w, h)
        if len(pts) < 3:
            return np.zeros((h, w), bool)
        check_perimeter(perimeter(pts), where, f"polygon '{shape['label']}'")
        draw.polygon([tuple(p) for p in pts.tolist()], outline=1, fill=1)
    elif kind == "rectangle":
        _need(pts, 2, "rectangle", "2 points (two corners)", shape, where)
        (x0, y0), (x1, y1) = np.clip(pts[:2], -1.0, [w + 1.0, h + 1.0]).tolist()
        draw.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=1, fill=1)
    elif kind == "circle":
        _need(pts, 2, "circle", "2 points (the centre and a point on the circle)", shape, where)
        (cx, cy), (px, py) = pts[:2].tolist()
        r = float(np.hypot(px - cx, py - cy))
        if min(cx - r, cy - r) < -margin or cx + r > w + margin or cy + r > h + margin:
            return _circle(cx, cy, r, h, w)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=1, fill=1)
    else:  # mask: a PNG of the box given by the two points
        try:
            with Image.open(io.BytesIO(base64.b64decode(shape["mask"]))) as mim:
                check_pixel_limit(f"mask shape '{shape['label']}'", mim.size[0], mim.size[1], error=FormatError)
                m = np.array(mim.convert("L")) > 0
        except FormatError as e:
            raise FormatError(f"{where}: {e}") from None
        except Exception as e:  # noqa: BLE001 - any decoding failure is bad input
            raise FormatError(f"{where}: mask shape '{shape['label']}' has unreadable mask data ({e})") from None
        _need(pts, 1, "mask", "its top-left corner", shape, where)
        x0, y0 = (int(round(v)) for v in pts[0])
        out = np.zeros((h, w), bool)
        ys, xs, ye, xe = max(0, y0), max(0, x0), min(h, y0 + m.shape[0]), min(w, x0 + m.shape[1])
        if ye > ys and xe > xs:
            out[ys:ye, xs:xe] = m[ys - y0:ye - y0, xs - x0:xe - x0]
        return out
    return np.array(im, bool)


def labelme_annotation(h: int, w: int, shapes: list[dict], labels: LabelSet, where: str, notes: Notes) -> Annotation:
    cm = np.full((h, w), labels.empty_id, np.uint8)  # without a background class, unlabelled is void
    inst = np.zeros((h, w), np.int32)
    groups: dict[tuple, int] = {}
    classes: dict[int, int] = {}
    skipped = outside = 0
    for shape in shapes:
        m = shape_mask(shape, h, w, where)
        if m is None:
            skipped += 1
            continue
        if not m.any():
            outside += 1
            continue
        name = shape["label"].strip()
        if name.lower() in BACKGROUND or name.lower() in VOID:
            cm[m] = labels.empty_id if name.lower() in BACKGROUND else VOID_ID
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
    if outside:
        notes.add(f"{where}: {outside} shapes have no pixels inside the {w}×{h} image and were left out")
    present = set(np.unique(inst).tolist())
    gone = [k for k in classes if k not in present]
    if gone:
        notes.add(f"{where}: {len(gone)} shapes are completely covered by later shapes and were left out")
    return Annotation(cm, inst, {k: Instance(c, None, "user") for k, c in classes.items() if k in present})


def _embedded_images_folder(project_dir: Path) -> Path:
    """A partial folder beside the project (removed after the import, or by the next one if killed)."""
    parent = project_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        clean_stale(parent, project_dir.name)
        return make_partial(parent, project_dir.name)
    except OSError as e:
        raise FormatError(f"{parent}: cannot write the embedded images here ({e.strerror or e})") from None


def _save_embedded(data: str, dst: Path, jf: Path) -> None:
    """Write a file's embedded image as PNG; its size is checked against the pixel limit before decoding."""
    try:
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            check_pixel_limit(f"{jf}: the embedded image (imageData)", im.size[0], im.size[1], error=FormatError)
            im.save(dst, format="PNG")
    except FormatError:
        raise
    except Exception as e:  # noqa: BLE001 - any decoding failure is bad input
        raise FormatError(f"{jf}: unreadable imageData ({e})") from None


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
    staging: Path | None = None
    items = []
    try:
        for jf, rel, img, info in found:
            if img is None:  # write the embedded image once, outside the source folder
                if staging is None:
                    staging = _embedded_images_folder(Path(project_dir))
                img = staging / rel
                img.parent.mkdir(parents=True, exist_ok=True)
                _save_embedded(info["imageData"], img, jf)
            items.append(ImportItem(img, rel, lambda h, w, jf=jf, info=info: labelme_annotation(
                h, w, info["shapes"], labels, str(jf), notes), declared_size=info["size"]))
        settings = {"import": {"format": "labelme", "source": str(source)}}
        return build_project(project_dir, labels, items, settings, [root], notes, progress, cancelled)
    finally:
        if staging is not None:
            remove_partial(staging)
