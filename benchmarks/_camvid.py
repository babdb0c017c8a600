"""CamVid (../shared/data/camvid) for the training benchmarks: images + masks, ids 0-10, 11 void."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT = ROOT.parent.parent / "shared" / "data" / "camvid"
# The dataset's class table (its README); id 11 "Unlabelled" is void.
CAMVID_CLASSES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car",
                  "Pedestrian", "Bicyclist"]
VOID = 11


def find_camvid(path: str | None) -> Path:
    for p in ([Path(path)] if path else []) + [DEFAULT, Path("/work/shared/data/camvid")]:
        if (p / "train").is_dir() and (p / "trainannot").is_dir():
            return p
    print(f"camvid not found (looked in {path or DEFAULT}); pass --data DIR", file=sys.stderr)
    sys.exit(2)


def open_camvid(root: Path):
    from segstudio.ml.data import DataSpec, open_data

    labels = Path(tempfile.mkdtemp(prefix="camvid-labels-")) / "labels.txt"
    labels.write_text("\n".join(CAMVID_CLASSES) + "\n", "utf-8")
    return open_data(DataSpec(root / "train", masks=root / "trainannot", labels=labels, void_ids=(VOID,),
                              val_images=root / "val", val_masks=root / "valannot"))
