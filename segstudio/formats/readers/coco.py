"""Reading COCO instances JSON: the one reader behind import, training and evaluation.

``read_coco`` checks a file without decoding any mask: its categories become
a label set, its images are found on disk, and each image's annotations are
collected.  Masks are decoded one image at a time (``image_annotation`` for a
project, ``instance_masks`` for Mask R-CNN), so memory is the parsed JSON
plus one image's masks.

Classes come from the categories:

* with ``labels``: categories are matched to the label set by name;
* with ``id_map``: category id -> class id as given;
* a file exported by segstudio carries its label set in ``info`` and gets it
  back exactly (names, order, colours, whether class 0 is a background);
* otherwise by name in category-id order: a background category (named like
  one, ``core.labels.is_background_name``) becomes class 0, or a class 0
  "background" is added; the others become classes 1..K, so COCO's ids 1..90
  with gaps and a converter's category 0 both import without options.
  ``CocoFile.mapping_note`` says what became what.

Pixels outside every annotation are the label set's ``empty_id``: background
(class 0) when it has a background class, else void.  Crowd annotations paint their class
without an instance; so do annotations of a background class.

Bad input is a ``FormatError`` naming the file and the image or annotation:
non-finite or non-integer ids and sizes, sizes above the pixel limit, RLE
counts that are negative or do not add up to the image, polygons with
non-finite coordinates or absurdly long outlines.  Polygons that reach far
outside the image are clipped before rasterising (``formats.polygons``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import VOID_ID, LabelSet, is_background_name
from segstudio.errors import FormatError, LabelError
from segstudio.formats.images import pixel_limit_problem
from segstudio.formats.jsonfile import json_int, read_json
from segstudio.formats.names import inside, safe_relpath
from segstudio.formats.polygons import MAX_PERIMETER, check_perimeter, clip_polygon, perimeter, polygon_points

INFO_KEY = "segstudio"            # info.segstudio: the exporting project's label set and background flag
VOID_KEY = "segstudio_void"       # images[i].segstudio_void: RLE of the image's void pixels
OVERLAP_MODES = ("smaller", "later", "error")
MAPPING_NOTE_PAIRS = 12


@dataclass
class CocoImage:
    id: int
    file_name: str                 # relative to the image folder (posix)
    width: int
    height: int
    path: Path
    anns: list[dict] = field(default_factory=list)  # annotations with a segmentation, file order
    void: dict | None = None       # segstudio's RLE of void pixels

    def where(self, source: str) -> str:
        return f"{source}, image {self.id} ({self.file_name})"


@dataclass
class CocoFile:
    source: Path
    labels: LabelSet
    mapping: dict[int, int]        # category id -> class id
    category_names: dict[int, str]
    images: list[CocoImage]        # sorted by file name
    unlabelled: int                # class of pixels outside every annotation (0 or void)
    mapping_note: str | None = None
    box_only: int = 0              # annotations without a segmentation (left out)


# -- categories -----------------------------------------------------------------------
def _categories(cats: list, source: str) -> dict[int, str]:
    by_id: dict[int, str] = {}
    for c in cats:
        if not isinstance(c, dict):
            raise FormatError(f"{source}: a category must be an object with \"id\" and \"name\"")
        cid = json_int(c.get("id"), "a category id", source)
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise FormatError(f"{source}: category {cid} has no name")
        if cid in by_id:
            raise FormatError(f"{source}: category id {cid} is declared twice")
        by_id[cid] = name.strip()
    return by_id


def _label_set(names: list[str], source: str, colors=None) -> LabelSet:
    try:
        return LabelSet(names, colors, name=Path(source).stem)
    except LabelError as e:
        raise FormatError(f"{source}: its categories cannot be classes ({e}); rename them, or give a label "
                          "file (--labels) or an id mapping (--map)") from None


def _exported_labels(info: object, by_id: dict[int, str]) -> LabelSet | None:
    """The label set a segstudio export stored in ``info``, if every category is one of its classes."""
    block = info.get(INFO_KEY) if isinstance(info, dict) else None
    if not isinstance(block, dict) or not isinstance(block.get("labels"), list):
        return None
    background = block.get("background_class")
    try:
        labels = LabelSet.from_json(block["labels"], name="export",
                                    background=background if isinstance(background, bool) else None)
    except LabelError:
        return None
    return labels if all(labels.get_id(n) is not None for n in by_id.values()) else None


def _note(by_id: dict[int, str], mapping: dict[int, int]) -> str:
    pairs = [f"{cid} '{by_id[cid]}' -> {mapping[cid]}" for cid in sorted(by_id)]
    shown = ", ".join(pairs[:MAPPING_NOTE_PAIRS])
    more = (f", ... ({len(pairs)} in all, kept in the project's segstudio.json)"
            if len(pairs) > MAPPING_NOTE_PAIRS else "")
    return f"categories -> classes: {shown}{more}"


def category_mapping(cats: list, source: str, labels: LabelSet | None = None,
                     id_map: dict[int, int] | None = None, info: object = None
                     ) -> tuple[LabelSet, dict[int, int], str | None]:
    """(label set, category id -> class id, a note saying how categories became classes)."""
    by_id = _categories(cats, source)
    if not by_id:
        raise FormatError(f"{source}: declares no categories; a COCO instances file needs at least one")
    if id_map:
        labels = labels or LabelSet(["background"] + [f"class {i}" for i in range(1, max(id_map.values()) + 1)])
        missing = sorted(set(by_id) - set(id_map))
        if missing:
            raise FormatError(f"{source}: categories {missing[:10]} are not in the given id mapping; map them too")
        for cid, dst in id_map.items():
            if not labels.is_valid(dst):
                raise FormatError(f"id mapping {cid} -> {dst}: not a class of the label set (0..{len(labels) - 1})")
        return labels, {cid: int(id_map[cid]) for cid in by_id}, None
    if labels is None:
        labels = _exported_labels(info, by_id)
    if labels is not None:
        mapping = {}
        for cid, name in by_id.items():
            cls = labels.get_id(name)
            if cls is None:
                raise FormatError(f"{source}: category '{name}' (id {cid}) is not in label set '{labels.name}'; "
                                  "add it to the label file or map the ids (--map)")
            mapping[cid] = cls
        return labels, mapping, None
    background = [cid for cid, name in by_id.items() if is_background_name(name)]
    if len(background) > 1:
        raise FormatError(f"{source}: categories {background} are all named like the background; keep one")
    others = sorted(cid for cid in by_id if cid not in background)
    if len(others) + 1 > 255:
        raise FormatError(f"{source}: {len(others)} categories, but a label set holds at most 254 classes "
                          "besides background; give a label file (--labels) naming the ones to keep")
    names = [by_id[background[0]] if background else "background"] + [by_id[c] for c in others]
    mapping = {c: i + 1 for i, c in enumerate(others)}
    if background:
        mapping[background[0]] = 0
    return _label_set(names, source), mapping, _note(by_id, mapping)


# -- the file -------------------------------------------------------------------------------
def _list(data: dict, key: str, source: str) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        raise FormatError(f"{source}: \"{key}\" must be a list; is this a COCO instances file?")
    return value


def _image(im: object, root: Path, source: str) -> CocoImage:
    if not isinstance(im, dict):
        raise FormatError(f"{source}: each image must be an object with id, file_name, width, height")
    iid = json_int(im.get("id"), "an image id", source)
    where = f"{source}, image {iid}"
    rel = safe_relpath(im.get("file_name"), where)
    w = json_int(im.get("width"), f"the width of image {iid}", source, minimum=1)
    h = json_int(im.get("height"), f"the height of image {iid}", source, minimum=1)
    problem = pixel_limit_problem(w, h)
    if problem:
        raise FormatError(f"{where} ({rel}): declares {problem}")
    path = inside(root, rel, where)
    void = im.get(VOID_KEY)
    return CocoImage(iid, rel, w, h, path, void=void if isinstance(void, dict) else None)


def read_coco(json_path: str | os.PathLike, images_dir: str | os.PathLike | None = None,
              labels: LabelSet | None = None, id_map: dict[int, int] | None = None,
              check_images: bool = True) -> CocoFile:
    """Parse and check a COCO instances file; images under ``images_dir`` (default: the file's folder)."""
    json_path = Path(json_path)
    source = str(json_path)
    data = read_json(json_path, "COCO JSON file")
    if not isinstance(data, dict):
        raise FormatError(f"{source}: a COCO file is a JSON object with images, annotations and categories")
    label_set, mapping, note = category_mapping(_list(data, "categories", source), source, labels, id_map,
                                                data.get("info"))
    names = _categories(data["categories"], source)
    root = Path(images_dir) if images_dir is not None else json_path.parent
    if not root.is_dir():
        raise FormatError(f"{root}: image folder not found; give the folder the file_names are relative to")
    images: dict[int, CocoImage] = {}
    for im in _list(data, "images", source):
        img = _image(im, root, source)
        if img.id in images:
            raise FormatError(f"{source}: image id {img.id} is used twice ({images[img.id].file_name!r} and "
                              f"{img.file_name!r}); give every image its own id")
        if check_images and not img.path.is_file():
            raise FormatError(f"{source}: image {img.id} file {img.path} not found; put the images in {root} or "
                              "give the image folder (--images DIR)")
        images[img.id] = img
    box_only = 0
    for a in _list(data, "annotations", source):
        if not isinstance(a, dict):
            raise FormatError(f"{source}: each annotation must be an object")
        aid = a.get("id")
        iid = json_int(a.get("image_id"), f"the image_id of annotation {aid}", source)
        if iid not in images:
            raise FormatError(f"{source}: annotation {aid} refers to image {iid}, which is not in \"images\"")
        cid = json_int(a.get("category_id"), f"the category_id of annotation {aid}", source)
        if cid not in mapping:
            raise FormatError(f"{source}: annotation {aid} has category_id {cid}, which is not declared in "
                              "\"categories\"; declare it or fix the annotation")
        if not a.get("segmentation"):
            box_only += 1
            continue
        images[iid].anns.append(a)
    unlabelled = label_set.empty_id
    ordered = sorted(images.values(), key=lambda im: im.file_name)
    return CocoFile(json_path, label_set, mapping, names, ordered, unlabelled, note, box_only)


# -- masks ----------------------------------------------------------------------------------
def rle_string_counts(counts: str, where: str) -> np.ndarray:
    """The run lengths of a compressed RLE string (pycocotools' encoding), checked as far as text goes."""
    try:
        b = np.frombuffer(counts.encode("ascii"), np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        raise FormatError(f"{where}: the RLE \"counts\" string holds characters that are not RLE") from None
    if b.size == 0:
        return np.zeros(0, np.int64)
    if (b < 0).any() or (b > 63).any() or b[-1] & 0x20:
        raise FormatError(f"{where}: the RLE \"counts\" string is damaged (not pycocotools' encoding)")
    ends = np.flatnonzero((b & 0x20) == 0)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 7:  # more than 35 bits: no run of a real image
        raise FormatError(f"{where}: the RLE \"counts\" string holds a run longer than any image")
    group = np.repeat(np.arange(len(ends)), lengths)
    k = np.arange(len(b)) - starts[group]
    values = np.zeros(len(ends), np.int64)
    np.add.at(values, group, (b & 0x1F) << (5 * k))
    negative = (b[ends] & 0x10) != 0
    values[negative] -= np.left_shift(np.int64(1), 5 * lengths[negative])
    out = values.copy()
    # from the fourth run on, each value is stored as the difference to the run two before
    if len(out) > 2:
        out[2::2] = np.cumsum(values[2::2])
        out[1::2] = np.cumsum(values[1::2])
    return out


def _rle_counts(seg: dict, h: int, w: int, where: str) -> list[int]:
    size = seg.get("size")
    if not isinstance(size, list) or len(size) != 2:
        raise FormatError(f"{where}: an RLE \"size\" must be [height, width]")
    sh, sw = (json_int(v, "an RLE size", where, minimum=0) for v in size)
    if (sh, sw) != (h, w):
        raise FormatError(f"{where}: the mask is {sw}×{sh} but the image is {w}×{h}; masks must have the "
                          "image's size")
    counts = seg["counts"]
    if isinstance(counts, str):
        runs = rle_string_counts(counts, where)
    elif isinstance(counts, list):
        runs = np.asarray(counts) if counts else np.zeros(0, np.int64)
        if runs.dtype.kind not in "iu" and not (runs.dtype.kind == "f" and np.isfinite(runs).all()
                                                 and (runs == np.round(runs)).all()):
            raise FormatError(f"{where}: RLE \"counts\" must be whole numbers")
        runs = runs.astype(np.int64)
    else:
        raise FormatError(f"{where}: RLE \"counts\" must be a list or a string")
    if runs.size and runs.min() < 0:
        raise FormatError(f"{where}: the RLE counts hold a negative run ({int(runs.min())}); the mask is damaged")
    total = int(runs.sum())
    if total != h * w:
        raise FormatError(f"{where}: the RLE counts add up to {total}, not {w}×{h} = {h * w} pixels")
    return runs.tolist()


def _polygons(seg: list, h: int, w: int, where: str) -> list[np.ndarray]:
    """The polygons as point arrays, checked and clipped (see ``formats.polygons``)."""
    if not seg:
        raise FormatError(f"{where}: a polygon needs at least 3 points (x, y pairs)")
    clipped = []
    for p in seg:
        if not isinstance(p, list):
            raise FormatError(f"{where}: polygons must be lists of x, y numbers")
        pts = polygon_points(p, where)
        if len(pts) < 3:
            raise FormatError(f"{where}: a polygon needs at least 3 points (x, y pairs)")
        pts = clip_polygon(pts, w, h)
        if len(pts) >= 3:
            clipped.append(pts)
    # inside the clip window an edge spans at most 3 image sides: measure only when that could matter
    if 3 * max(h, w) * sum(len(pts) for pts in clipped) > MAX_PERIMETER:
        check_perimeter(sum(perimeter(pts) for pts in clipped), where)
    return clipped


def decode_box(seg: object, h: int, w: int, where: str) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """A COCO segmentation (polygons, RLE, compressed RLE) as (box (y0, x0, y1, x1), the mask inside
    it), or None when it has no pixel in the h×w image.

    Polygons are rasterised in their own box only: pycocotools' rasteriser works
    on a grid, so a shift by whole pixels gives exactly the same pixels.
    """
    if isinstance(seg, list):
        polys = _polygons(seg, h, w, where)
        if not polys:  # every polygon lies outside the image
            return None
        allpts = np.concatenate(polys)
        x0, y0 = max(0, int(np.floor(allpts[:, 0].min())) - 1), max(0, int(np.floor(allpts[:, 1].min())) - 1)
        x1, y1 = min(w, int(np.ceil(allpts[:, 0].max())) + 2), min(h, int(np.ceil(allpts[:, 1].max())) + 2)
        if x1 <= x0 or y1 <= y0:
            return None
        shift = np.array([x0, y0], np.float64)
        bh, bw = y1 - y0, x1 - x0
        rle = mask_utils.merge(mask_utils.frPyObjects([(p - shift).ravel().tolist() for p in polys], bh, bw))
        found = _crop(mask_utils.decode(rle).astype(bool))
        if found is None:
            return None
        (cy0, cx0, cy1, cx1), crop = found
        return (y0 + cy0, x0 + cx0, y0 + cy1, x0 + cx1), crop
    if isinstance(seg, dict) and "counts" in seg and "size" in seg:
        rle = mask_utils.frPyObjects({"size": [h, w], "counts": _rle_counts(seg, h, w, where)}, h, w)
        return _crop(mask_utils.decode(rle).astype(bool))
    raise FormatError(f"{where}: \"segmentation\" must be polygons (a list) or RLE (an object with "
                      "\"size\" and \"counts\")")


def decode_segmentation(seg: object, h: int, w: int, where: str) -> np.ndarray:
    """A COCO segmentation (polygons, RLE, compressed RLE) as an H×W bool mask."""
    out = np.zeros((h, w), bool)
    found = decode_box(seg, h, w, where)
    if found is not None:
        (y0, x0, y1, x1), crop = found
        out[y0:y1, x0:x1] = crop
    return out


def _crop(m: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """(box (y0, x0, y1, x1), the mask inside it), or None for an empty mask."""
    rows = np.flatnonzero(m.any(axis=1))
    if not rows.size:
        return None
    cols = np.flatnonzero(m.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    return (y0, x0, y1, x1), np.ascontiguousarray(m[y0:y1, x0:x1])


def image_annotation(coco: CocoFile, img: CocoImage, notes, overlap: str = "smaller") -> Annotation:
    """The image's annotations as one project annotation (see the module docstring).

    A pixel holds one instance: where instances overlap it goes to the smaller
    one ("smaller"), the later one ("later"), or the import stops ("error").
    ``notes.add`` hears about overlaps and annotations left out.
    """
    h, w, where = img.height, img.width, img.where(str(coco.source))
    cm = np.full((h, w), coco.unlabelled, np.uint8)
    inst = np.zeros((h, w), np.int32)
    instances: dict[int, Instance] = {}
    objects = []   # (annotation, class, box, crop)
    outside = 0
    for a in img.anns:
        cls = coco.mapping[int(a["category_id"])]
        found = decode_box(a["segmentation"], h, w, f"{where}, annotation {a.get('id')}")
        if found is None:
            outside += 1
            continue
        (y0, x0, y1, x1), crop = found
        if a.get("iscrowd") or (cls == 0 and coco.labels.has_background):
            cm[y0:y1, x0:x1][crop] = cls
        else:
            objects.append((a, cls, (y0, x0, y1, x1), crop))
    order = list(range(len(objects)))
    if overlap == "smaller":
        order.sort(key=lambda i: -int(objects[i][3].sum()))
    taken = np.zeros((h, w), bool)
    overlapped = 0
    for i in order:
        a, cls, (y0, x0, y1, x1), crop = objects[i]
        k = i + 1  # instance ids follow the file's annotation order
        box = (slice(y0, y1), slice(x0, x1))
        clash = crop & taken[box]
        if clash.any():
            if overlap == "error":
                raise FormatError(f"{where}: annotation {a.get('id')} overlaps another instance by "
                                  f"{int(clash.sum())} pixels; a pixel belongs to one instance - fix the masks or "
                                  "choose how to resolve overlaps (smaller / later)")
            overlapped += int(clash.sum())
        cm[box][crop] = cls
        inst[box][crop] = k
        taken[box] |= crop
        instances[k] = Instance(cls, None, "user")
    if img.void is not None:
        void = decode_segmentation(img.void, h, w, f"{where}, {VOID_KEY}") & (inst == 0)
        cm[void] = VOID_ID
    present = set(np.unique(inst).tolist())
    for k in list(instances):
        if k not in present:
            notes.add(f"{where}: instance of annotation {objects[k - 1][0].get('id')} is completely covered by "
                      "other instances and was left out")
            del instances[k]
    if outside:
        notes.add(f"{where}: {outside} annotations have no pixels inside the image and were left out")
    if overlapped:
        notes.add(f"{where}: {overlapped} pixels where instances overlap were given to the "
                  f"{'smaller' if overlap == 'smaller' else 'later'} instance")
    return Annotation(cm, inst, instances)


def instance_masks(coco: CocoFile, img: CocoImage) -> tuple[np.ndarray, np.ndarray]:
    """(masks N×H×W uint8, class ids N) of the image's objects (not crowd, not background), file order."""
    h, w, where = img.height, img.width, img.where(str(coco.source))
    masks, classes = [], []
    for a in img.anns:
        cls = coco.mapping[int(a["category_id"])]
        if a.get("iscrowd") or cls == 0:
            continue
        masks.append(decode_segmentation(a["segmentation"], h, w, f"{where}, annotation {a.get('id')}"))
        classes.append(cls)
    if not masks:
        return np.zeros((0, h, w), np.uint8), np.zeros(0, np.int64)
    return np.stack(masks).astype(np.uint8), np.asarray(classes, np.int64)
