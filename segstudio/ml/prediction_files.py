"""Write a prediction as files: DIR/<stem>.png (palette class map, 255 void) and,
for instance results, DIR/<stem>_instances.png (16-bit ids) + _instances.json."""

from __future__ import annotations

from pathlib import Path

from segstudio.formats.atomic import atomic_write_bytes, atomic_write_json
from segstudio.formats.masks import encode_instance_png, encode_label_png
from segstudio.ml.results import InstanceResult


def stem_clashes(files: list[Path]) -> dict[Path, Path]:
    """Inputs whose stem an earlier input already uses: {later file: earlier file}."""
    seen: dict[str, Path] = {}
    clashes: dict[Path, Path] = {}
    for f in files:
        key = f.stem
        if key in seen:
            clashes[f] = seen[key]
        else:
            seen[key] = f
    return clashes


def write_prediction(out: Path, stem: str, result, overlap: float = 0.5) -> list[Path]:
    """Write the files of one result; returns their paths."""
    out = Path(out)
    written = []
    if isinstance(result, InstanceResult):
        doc = result.to_annotation(overlap=overlap)
        class_map = doc.class_map
        inst_png = out / f"{stem}_instances.png"
        atomic_write_bytes(inst_png, encode_instance_png(doc.instance_map, str(inst_png)))
        boxes = {}
        for k in doc.instances:
            box = doc.instance_box(k)
            boxes[k] = [box[1], box[0], box[3], box[2]] if box else None
        table = {
            "model": result.model, "weights": result.version,
            "size": [result.size[1], result.size[0]],
            "labels": result.labels.to_json(),
            "instances": [{"id": k, "class_id": inst.class_id, "class_name": result.labels.name_of(inst.class_id),
                           "score": inst.score, "box": boxes[k], "area": int((doc.instance_map == k).sum())}
                          for k, inst in sorted(doc.instances.items())],
            "unmapped_classes": result.unmapped,
        }
        js = out / f"{stem}_instances.json"
        atomic_write_json(js, table)
        written += [inst_png, js]
    else:
        class_map = result.class_map
    png = out / f"{stem}.png"
    atomic_write_bytes(png, encode_label_png(class_map, result.labels.palette()))
    return [png] + written
