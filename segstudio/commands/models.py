"""List the registered models: name, task, classes, parameter count, the
published metrics of their default weights and whether those weights are
already in the local cache (otherwise the first prediction downloads them)."""

from __future__ import annotations

import argparse
import json
import sys

NAME = "models"
HELP = "list the available models and whether their weights are cached"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the list as JSON")


def describe() -> list[dict]:
    from segstudio.ml.download import cached_path
    from segstudio.ml.registry import list_cards

    rows = []
    for card in list_cards():
        labels, _ = card.default_labels()
        path = cached_path(card.url)
        rows.append({
            "name": card.name, "title": card.title, "task": card.task,
            "num_classes": len(labels), "classes": labels.names,
            "parameters": card.num_params, "metrics": card.metrics,
            "weights_url": card.url, "weights_file": str(path), "cached": path.is_file(),
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
    for r in rows:
        params = f"{r['parameters'] / 1e6:.1f}M" if r["parameters"] else "?"
        out.write(f"{r['name']:<30} {r['task']:<9} {r['num_classes']:>7} {params:>8}  "
                  f"{'yes' if r['cached'] else 'no':<6}  {_metrics_text(r['metrics'])}\n")
    out.write("\nUncached weights are downloaded on first use into the torch hub cache "
              "(weights_file in --json).\n")
    return 0
