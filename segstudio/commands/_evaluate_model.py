"""`segstudio evaluate --model`: predict on ground-truth data, then score.

Semantic models get the core metrics (the same table and JSON as --pred);
instance models get COCOeval segm AP.  Predicts through the one prediction
pipeline (``segstudio.ml.pipeline``: the checkpoint card's working size, and
with --crf its fitted CRF settings) and scores with ``segstudio.ml.scoring``,
as the trainer's validation does.
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
    from segstudio.commands.predict import report_pipeline
    from segstudio.errors import SegStudioError
    from segstudio.formats.atomic import atomic_write_json
    from segstudio.ml.model_cache import ModelCache
    from segstudio.ml.pipeline import Pipeline
    from segstudio.ml.scoring import score_instances, score_semantic
    from segstudio.progress import ProgressBar

    loaded = ModelCache().get(args.model, args.weights or "default")
    task = loaded.card.task
    data, labels = _open(args, task, loaded.labels)
    if len(data) == 0:
        raise SegStudioError(f"{args.gt}: no images to evaluate")
    if labels.names != loaded.labels.names and len(labels) != len(loaded.labels):
        raise SegStudioError(f"{args.gt} has {len(labels)} classes but the model predicts {len(loaded.labels)} "
                             f"({', '.join(loaded.labels.names[:4])}, ...); evaluate a model trained on these labels")
    from segstudio.ml.devices import pick_device

    options = {"score_threshold": 0.05} if task == "instance" else {}  # COCOeval wants the low-score detections too
    pipeline = Pipeline.build(loaded, pick_device(args.device), labels if labels.names == loaded.labels.names
                              else _positional(loaded.labels, labels), resize=args.size, crf=args.crf,
                              crf_force=args.crf_force, **options)
    report_pipeline(pipeline, args.crf, args.size)
    bar = ProgressBar(len(data), "evaluating")
    progress = lambda done, total: bar.set(done)  # noqa: E731
    if task == "semantic":
        n = args.num_classes or len(labels)
        metrics = score_semantic(pipeline, data, n, progress=progress)
        bar.close()
        result = metrics.to_json([labels.name_of(c) if c < len(labels) else f"class {c}" for c in range(n)])
        print_table(result, sys.stdout)
    else:
        from segstudio.ml.data.instance import to_coco

        gt = to_coco(data)
        result = score_instances(pipeline, data, gt, progress=progress)
        bar.close()
        for k, v in result.items():
            print(f"{k:<16} {v if k == 'detections' else f'{100 * v:6.2f}'}")
    result["model"] = {"name": loaded.card.name, "weights": str(args.weights or "default"),
                       "version": loaded.version, "working_size": pipeline.working_size,
                       "crf": None if pipeline.crf is None else vars(pipeline.crf)}
    if args.json:
        atomic_write_json(args.json, result)
    return 0


def _positional(model_labels, data_labels):
    """The data's classes named as the model's, position by position (same count, other names):
    the model's output i is scored as the data's class i."""
    from segstudio.core.labels import LabelSet

    return LabelSet(list(model_labels.names), name=data_labels.name)
