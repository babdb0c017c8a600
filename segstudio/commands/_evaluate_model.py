"""`segstudio evaluate --model`: predict on ground-truth data, then score.

Semantic models get the core metrics (the same table and JSON as --pred);
instance models get COCOeval segm AP.  Shares the prediction and scoring code
with the trainer's validation (``segstudio.ml.training.evaluation``).
"""

from __future__ import annotations

import sys
from pathlib import Path


def _open(args, task: str, labels):
    from segstudio.errors import SegStudioError
    from segstudio.ml.data import DataSpec, open_data

    gt = Path(args.gt)
    if args.images:
        spec = DataSpec(args.images, task=task, masks=gt, labels=args.labels or labels,
                        void_ids=tuple(args.void), val_fraction=0.0)
    else:
        spec = DataSpec(gt, task=task, labels=args.labels or None, void_ids=tuple(args.void),
                        val_fraction=0.0 if args.split == "all" else 0.1, include_predicted=False)
        if gt.is_dir() and not (gt / "segstudio.json").exists() and not _looks_like_voc(gt):
            raise SegStudioError(f"{gt}: with --model, a folder of masks needs --images DIR (the images)")
    data = open_data(spec)
    if args.split == "train":
        return data.train, data.labels
    if args.split == "val":
        return data.val, data.labels
    return _concat(data.train, data.val), data.labels


def _looks_like_voc(path: Path) -> bool:
    from segstudio.formats.readers.voc import find_voc_root

    return find_voc_root(path) is not None


def _concat(a, b):
    keys = a.keys + [k for k in b.keys if k not in set(a.keys)]
    merged = type(a)(a.samples + [s for s in b.samples if s.key not in set(a.keys)], a.labels, None, a.name)
    return merged.subset(keys)


def run_model(args, print_table) -> int:

    from segstudio.errors import SegStudioError
    from segstudio.formats.atomic import atomic_write_json
    from segstudio.ml.devices import device_gate, pick_device
    from segstudio.ml.training import evaluation as E
    from segstudio.ml.training import transforms as T
    from segstudio.ml.training.trainer import _OutputMapped
    from segstudio.ml.weights import load_model
    from segstudio.progress import ProgressBar

    loaded = load_model(args.model, weights=args.weights or "default")
    task = loaded.card.task
    data, labels = _open(args, task, loaded.labels)
    if len(data) == 0:
        raise SegStudioError(f"{args.gt}: no images to evaluate")
    if labels.names != loaded.labels.names and len(labels) != len(loaded.labels):
        raise SegStudioError(f"{args.gt} has {len(labels)} classes but the model predicts {len(loaded.labels)} "
                             f"({', '.join(loaded.labels.names[:4])}, ...); evaluate a model trained on these labels")
    device = pick_device(args.device)
    o2l = None
    out_ids = loaded.output_ids
    if len(out_ids) != len(loaded.labels) or any(int(v) != i for i, v in enumerate(out_ids)):
        o2l = [int(v) if v >= 0 else 255 for v in out_ids]
    model = _OutputMapped(loaded.model, o2l).to(device).eval()
    gate = lambda: device_gate(device, "interactive")  # noqa: E731
    prep = loaded.preprocessing
    bar = ProgressBar(len(data), "evaluating")
    if task == "semantic":
        ds = data.with_transform(T.SegmentationEvalTransform(args.size, prep.mean or T.IMAGENET_MEAN,
                                                             prep.std or T.IMAGENET_STD))
        ds = _Counting(ds, bar)
        n = args.num_classes or len(labels)
        metrics = E.evaluate_semantic(model, ds, n, device, gate=gate)
        bar.close()
        result = metrics.to_json([labels.name_of(c) if c < len(labels) else f"class {c}" for c in range(n)])
        result["model"] = {"name": loaded.card.name, "weights": str(args.weights or "default"),
                           "version": loaded.version}
        print_table(result, sys.stdout)
    else:
        from segstudio.ml.data.instance import to_coco

        gt = to_coco(data)
        ds = _Counting(data.with_transform(T.InstanceEvalTransform()), bar)
        result = E.evaluate_instance(model, ds, gt, device, gate=gate)
        bar.close()
        for k, v in result.items():
            print(f"{k:<16} {v if k == 'detections' else f'{100 * v:6.2f}'}")
        result["model"] = {"name": loaded.card.name, "weights": str(args.weights or "default"),
                           "version": loaded.version}
    if args.json:
        atomic_write_json(args.json, result)
    return 0


class _Counting:
    """A dataset view that advances a progress bar per item read."""

    def __init__(self, ds, bar):
        self.ds, self.bar = ds, bar

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        item = self.ds[i]
        self.bar.update()
        return item
