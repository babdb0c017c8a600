"""List the registered models: name, task, classes, parameter count, the
published metrics of their default weights and whether those weights are
already in the local cache (otherwise the first prediction downloads them).

Models without published segmentation weights (U-Net, SegNet, PSPNet,
DeepLabV3+) have no classes or metrics of their own: their default weights are
an ImageNet encoder for fine-tuning.  Their parameter count is computed for a
21-class head, the basis of torchvision's published counts."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "models"
HELP = "list the available models and whether their weights are cached"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the list as JSON")


WEIGHTS = {"model": "trained model", "encoder": "ImageNet encoder", None: "none"}


def describe() -> list[dict]:
    from segstudio.ml.architectures import count_parameters
    from segstudio.ml.download import cached_path
    from segstudio.ml.registry import list_cards

    rows = []
    for card in list_cards():
        labels = card.default_labels()[0] if card.has_classes else None
        path = cached_path(card.url) if card.url else None
        params = card.num_params
        if params is None and card.task == "semantic":
            params = count_parameters(card)
        rows.append({
            "name": card.name, "title": card.title, "task": card.task, "source": card.source,
            "num_classes": len(labels) if labels else None, "classes": labels.names if labels else None,
            "parameters": params, "metrics": card.metrics, "default_weights": WEIGHTS[card.weights_kind],
            "weights_url": card.url, "weights_file": str(path) if path else None,
            "cached": path.is_file() if path else False,
            "description": card.description,
        })
    return rows


def _metrics_text(metrics: dict) -> str:
    parts = []
    for _dataset, values in metrics.items():
        parts += [f"{k}={v}" for k, v in values.items()]
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    rows = describe()
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    out.write(f"{'model':<30} {'task':<9} {'classes':>7} {'params':>8}  {'cached':<6}  published metrics\n")
    encoder_only = False
    for r in rows:
        params = f"{r['parameters'] / 1e6:.1f}M" if r["parameters"] else "?"
        classes = r["num_classes"] if r["num_classes"] is not None else "-"
        metrics = _metrics_text(r["metrics"])
        if r["default_weights"] == "ImageNet encoder":
            encoder_only = True
            metrics = "- (default weights: ImageNet encoder only *)"
        out.write(f"{r['name']:<30} {r['task']:<9} {classes:>7} {params:>8}  "
                  f"{'yes' if r['cached'] else 'no':<6}  {metrics}\n")
    if encoder_only:
        out.write("\n* No published segmentation weights: fine-tune on your labels first "
                  "(segstudio finetune DATA --model NAME),\n  then predict with the run's best.pt. "
                  "Parameters are counted with a 21-class head.\n")
    out.write("\nUncached weights are downloaded on first use into the torch hub cache "
              "(weights_file in --json).\n")
    return 0
