"""Import COCO instances JSON (polygons, RLE, compressed RLE, iscrowd).

Category ids become class ids unchanged (class 0 is "background"), so ids
must be 1..254 without gaps; otherwise give ``labels`` (categories are then
matched by name) or ``id_map`` (category id -> class id).  Crowd regions
(``iscrowd`` 1) become class pixels that belong to no instance.  A project
pixel holds one instance, so where instances overlap the pixel goes to the
smaller one (``overlap="smaller"``, default), to the later one ("later"), or
the import stops ("error"); the notes count every pixel this affects.

Several JSON files can be imported together (e.g. ``instances_train.json``
and ``instances_val.json``); a file whose name contains "val" gives the
project's val split, the others the train split.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from segstudio.core.annotation import Annotation, Instance
from segstudio.core.labels import LabelSet
from segstudio.errors import FormatError
from segstudio.formats.imports.common import ImportItem, Notes, build_project, read_json
from segstudio.formats.names import inside, safe_relpath
from segstudio.formats.project import Project
from segstudio.formats.staging import CancelFn, ProgressFn

OVERLAP_MODES = ("smaller", "later", "error")


def _int(value, what: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise FormatError(f"{source}: {what} must be an integer, got {value!r}")
    return int(value)


def _list(data: dict, key: str, source: str) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        raise FormatError(f"{source}: \"{key}\" must be a list; is this a COCO instances file?")
    return value


def category_mapping(cats: list, source: str, labels: LabelSet | None,
                     id_map: dict[int, int] | None) -> tuple[LabelSet, dict[int, int]]:
    """(label set, category id -> class id)."""
    by_id: dict[int, str] = {}
    for c in cats:
        if not isinstance(c, dict):
            raise FormatError(f"{source}: a category must be an object with \"id\" and \"name\"")
        cid = _int(c.get("id"), "a category id", source)
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise FormatError(f"{source}: category {cid} has no name")
        if cid in by_id:
            raise FormatError(f"{source}: category id {cid} is declared twice")
        by_id[cid] = name.strip()
    if id_map:
        labels = labels or LabelSet(["background"] + [f"class {i}" for i in range(1, max(id_map.values()) + 1)])
        missing = sorted(set(by_id) - set(id_map))
        if missing:
            raise FormatError(f"{source}: categories {missing[:10]} are not in the given id mapping; map them too")
        for cid, dst in id_map.items():
            if not labels.is_valid(dst):
                raise FormatError(f"id mapping {cid} -> {dst}: not a class of the label set (0..{len(labels) - 1})")
        return labels, {cid: int(id_map[cid]) for cid in by_id}
    if labels is not None:
        mapping = {}
        for cid, name in by_id.items():
            cls = labels.get_id(name)
            if cls is None:
                raise FormatError(f"{source}: category '{name}' (id {cid}) is not in label set '{labels.name}'; "
                                  "add it to the label file or map the ids")
            mapping[cid] = cls
        return labels, mapping
    ids = sorted(by_id)
    if ids and (ids[0] < 1 or ids != list(range(1, len(ids) + 1)) or ids[-1] > 254):
        raise FormatError(f"{source}: category ids {ids[:12]}{'...' if len(ids) > 12 else ''} are not 1..N without "
                          "gaps, so they cannot be used as class ids unchanged; give a label file (--labels) to "
                          "match categories by name, or an id mapping")
    return LabelSet(["background"] + [by_id[i] for i in ids], name=source), {i: i for i in ids}


def decode_segmentation(seg, h: int, w: int, where: str) -> np.ndarray:
    try:
        if isinstance(seg, list):
            if not seg or not all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 for p in seg):
                raise FormatError(f"{where}: a polygon needs at least 3 points (x, y pairs)")
            rle = mask_utils.merge(mask_utils.frPyObjects([[float(v) for v in p] for p in seg], h, w))
        elif isinstance(seg, dict) and "counts" in seg and "size" in seg:
            size = [int(v) for v in seg["size"]]
            if size != [h, w]:
                raise FormatError(f"{where}: the mask is {size[1]}×{size[0]} but the image is {w}×{h}; "
                                  "masks must have the image's size")
            counts = seg["counts"]
            if isinstance(counts, list):
                if sum(int(c) for c in counts) != h * w:
                    raise FormatError(f"{where}: the RLE counts add up to {sum(counts)}, not {h}×{w} pixels")
                rle = mask_utils.frPyObjects({"size": size, "counts": [int(c) for c in counts]}, h, w)
            elif isinstance(counts, str):
                rle = {"size": size, "counts": counts.encode("ascii")}
            else:
                raise FormatError(f"{where}: RLE \"counts\" must be a list or a string")
        else:
            raise FormatError(f"{where}: \"segmentation\" must be polygons (a list) or RLE (an object with "
                              "\"size\" and \"counts\")")
        m = mask_utils.decode(rle)
    except (TypeError, ValueError, UnicodeEncodeError) as e:
        raise FormatError(f"{where}: unreadable segmentation ({e})") from None
    if m.shape != (h, w):
        raise FormatError(f"{where}: the mask is {m.shape[1]}×{m.shape[0]} but the image is {w}×{h}")
    return m.astype(bool)


def coco_annotation(h: int, w: int, anns: list[dict], mapping: dict[int, int], overlap: str,
                    where: str, notes: Notes) -> Annotation:
    cm = np.zeros((h, w), np.uint8)
    inst = np.zeros((h, w), np.int32)
    instances: dict[int, Instance] = {}
    masks = []
    for a in anns:
        m = decode_segmentation(a["segmentation"], h, w, f"{where}, annotation {a.get('id')}")
        if a.get("iscrowd"):
            cm[m] = mapping[a["category_id"]]
        else:
            masks.append((a, m))
    order = range(len(masks))
    if overlap == "smaller":
        order = sorted(order, key=lambda i: -int(masks[i][1].sum()))
    taken = np.zeros((h, w), bool)
    overlapped = 0
    for i in order:
        a, m = masks[i]
        k = i + 1  # instance ids follow the file's annotation order
        clash = m & taken
        if clash.any():
            if overlap == "error":
                raise FormatError(f"{where}: annotation {a.get('id')} overlaps another instance by "
                                  f"{int(clash.sum())} pixels; a pixel belongs to one instance - fix the masks or "
                                  "choose how to resolve overlaps (smaller / later)")
            overlapped += int(clash.sum())
        cm[m] = mapping[a["category_id"]]
        inst[m] = k
        taken |= m
        instances[k] = Instance(mapping[a["category_id"]], None, "user")
    present = set(np.unique(inst).tolist())
    for k in list(instances):
        if k not in present:
            notes.add(f"{where}: instance of annotation {masks[k - 1][0].get('id')} is completely covered by "
                      "other instances and was left out")
            del instances[k]
    if overlapped:
        notes.add(f"{where}: {overlapped} pixels where instances overlap were given to the "
                  f"{'smaller' if overlap == 'smaller' else 'later'} instance")
    return Annotation(cm, inst, instances)


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
    label_set: LabelSet | None = None
    cat_names: dict[int, str] | None = None
    split: dict[str, list[str]] = {"train": [], "val": []}
    folders = []
    for jpath in jsons:
        src = str(jpath)
        data = read_json(jpath)
        if not isinstance(data, dict):
            raise FormatError(f"{src}: a COCO file is a JSON object with images, annotations and categories")
        cats = _list(data, "categories", src)
        ls, mapping = category_mapping(cats, src, labels, id_map)
        names = {int(c["id"]): str(c["name"]).strip() for c in cats}
        if cat_names is None:
            label_set, cat_names = ls, names
        elif names != cat_names:
            raise FormatError(f"{src}: its categories differ from those of {jsons[0]}; import them separately")
        root = Path(images_dir) if images_dir is not None else jpath.parent
        if not root.is_dir():
            raise FormatError(f"{root}: image folder not found; give the folder the file_names are relative to")
        folders.append(root)
        images: dict[int, dict] = {}
        for im in _list(data, "images", src):
            if not isinstance(im, dict):
                raise FormatError(f"{src}: each image must be an object with id, file_name, width, height")
            iid = _int(im.get("id"), "an image id", src)
            if iid in images:
                raise FormatError(f"{src}: image id {iid} is used twice ({images[iid]['file_name']!r} and "
                                  f"{im.get('file_name')!r}); give every image its own id")
            rel = safe_relpath(im.get("file_name"), f"{src}, image {iid}")
            w = _int(im.get("width"), f"the width of image {iid}", src)
            h = _int(im.get("height"), f"the height of image {iid}", src)
            path = inside(root, rel, f"{src}, image {iid}")
            if not path.is_file():
                raise FormatError(f"{src}: image {iid} file {path} not found; put the images in {root} or give "
                                  "the image folder (--images DIR)")
            images[iid] = {"file_name": rel, "width": w, "height": h, "path": path, "anns": []}
        boxes_only = 0
        for a in _list(data, "annotations", src):
            if not isinstance(a, dict):
                raise FormatError(f"{src}: each annotation must be an object")
            aid = a.get("id")
            iid = _int(a.get("image_id"), f"the image_id of annotation {aid}", src)
            if iid not in images:
                raise FormatError(f"{src}: annotation {aid} refers to image {iid}, which is not in \"images\"")
            cid = _int(a.get("category_id"), f"the category_id of annotation {aid}", src)
            if cid not in mapping:
                raise FormatError(f"{src}: annotation {aid} has category_id {cid}, which is not declared in "
                                  "\"categories\"; declare it or fix the annotation")
            if not a.get("segmentation"):
                boxes_only += 1
                continue
            images[iid]["anns"].append(a)
        if boxes_only:
            notes.add(f"{src}: {boxes_only} annotations have no segmentation (box only) and were not imported")
        part = "val" if "val" in jpath.stem.lower() else "train"
        for iid, im in sorted(images.items(), key=lambda kv: kv[1]["file_name"]):
            where = f"{src}, image {iid} ({im['file_name']})"
            items.append(ImportItem(
                im["path"], im["file_name"],
                lambda h, w, im=im, where=where, mapping=mapping: coco_annotation(
                    h, w, im["anns"], mapping, overlap, where, notes),
                declared_size=(im["width"], im["height"])))
            split[part].append(im["file_name"])
    settings: dict = {"import": {"format": "coco", "source": [str(j) for j in jsons]}}
    project = build_project(project_dir, label_set, items, settings, folders + [j.parent for j in jsons],
                            notes, progress, cancelled)
    if len(jsons) > 1:  # keys are known only now (a stem shared by two images keeps its extension)
        by_rel = {e.relpath: e.key for e in project.images}
        project.settings["split"] = {k: sorted(by_rel[r] for r in v if r in by_rel) for k, v in split.items()}
        project.save()
    return project

