"""Predict masks for images with a torchvision model (FCN, DeepLabV3, LR-ASPP,
Mask R-CNN).  For each input image it writes DIR/<stem>.png, a palette PNG of
class ids (Pascal VOC colours, 255 void); instance models also write
DIR/<stem>_instances.png (16-bit instance ids) and DIR/<stem>_instances.json
(the instance table).  INPUT may be image files or folders of images.  A bad
input is reported and skipped; the exit status is then 2.  Under torchrun the
inputs are split across the ranks."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from segstudio.commands.argtypes import float_range, int_range

NAME = "predict"
HELP = "predict class / instance masks for images"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    p.add_argument("--model", required=True, metavar="NAME", help="a model of `segstudio models`")
    p.add_argument("--weights", default="default", metavar="default|none|FILE",
                   help="published weights (downloaded once), random ones, or a checkpoint / state dict")
    p.add_argument("--device", default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:N or mps")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--labels", metavar="FILE",
                   help="label file to map the model's classes into by name (unknown classes become void)")
    p.add_argument("--crf", action="store_true", help="refine boundaries with a dense CRF (a fine-tuned "
                   "checkpoint's card gives the settings fitted to its validation images)")
    p.add_argument("--crf-force", action="store_true",
                   help="refine with the CRF even when the checkpoint's card says it did not help")
    p.add_argument("--crf-iterations", type=int_range(1), metavar="N", help="CRF mean-field iterations (10)")
    p.add_argument("--crf-max-side", type=int_range(0), metavar="PX", help="CRF working resolution cap (1024; 0 = full)")
    p.add_argument("--score-threshold", type=float_range(0, 1), metavar="F", help="instance models: minimum score (0.5)")
    p.add_argument("--mask-threshold", type=float_range(0, 1), metavar="F", help="instance models: mask cut-off (0.5)")
    p.add_argument("--overlap", type=float_range(0, 1), default=0.5, metavar="F",
                   help="instance models: drop an instance covered by better ones for more than F of it")
    p.add_argument("--resize", type=int_range(0), metavar="PX",
                   help="working size: the short side in pixels (default: the size a fine-tuned "
                        "checkpoint was trained and validated at, else the weights' own, 520 for "
                        "semantic models, 800 for Mask R-CNN; 0 = the image's own size)")
    p.add_argument("--max-side", type=int_range(1), metavar="PX", help="predict larger working images in tiles")
    p.add_argument("--workers", type=int_range(0), metavar="N", help="image decoding processes (default: up to 2)")


def collect_inputs(items: list[str]) -> list[Path]:
    """Files as given (even unreadable ones, to be reported); folders expanded to their images."""
    from segstudio.formats.images import is_image_file

    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and is_image_file(f)
                                and not any(part.startswith(".") for part in f.relative_to(p).parts)))
        else:
            files.append(p)
    return files


def shard(files: list[Path]) -> tuple[list[Path], int, int]:
    """This rank's share of the inputs under torchrun (RANK / WORLD_SIZE), else all."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return files, 0, 1
    return files[rank::world], rank, world


def _device(arg: str):
    from segstudio.ml.devices import pick_device

    if arg == "auto" and "LOCAL_RANK" in os.environ:
        import torch

        if torch.cuda.is_available():
            return torch.device(f"cuda:{int(os.environ['LOCAL_RANK']) % torch.cuda.device_count()}")
    return pick_device(arg)


def _download_bar():
    from segstudio.progress import ProgressBar

    state: dict = {}

    def progress(done: int, total: int | None) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = ProgressBar(total and total // (1 << 20), "downloading weights (MB)")
        bar.set(done // (1 << 20))

    def close() -> None:
        if "bar" in state:
            state.pop("bar").close()

    return progress, close


def report_pipeline(pipeline, crf: bool, resize: int | None) -> None:
    """Say on stderr, once, what the checkpoint's card decided: its CRF verdict (``crf`` asked for)
    and the working size it gives (when ``resize`` was not given)."""
    for note in pipeline.notes:
        print(note, file=sys.stderr)
    if crf and pipeline.crf is None:
        print("  (--crf-force refines anyway)", file=sys.stderr)
    if resize is None and pipeline.usage.working_size:
        print(f"working size {pipeline.working_size} px (short side), as {pipeline.usage.working_size_source} "
              "says; --resize PX to change it", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from segstudio.errors import SegStudioError
    from segstudio.formats.labelfile import read_label_file
    from segstudio.ml.batch import predict_files
    from segstudio.ml.crf import require_pydensecrf
    from segstudio.ml.pipeline import open_pipeline
    from segstudio.ml.prediction_files import stem_clashes, write_prediction
    from segstudio.progress import ProgressBar

    files = collect_inputs(args.inputs)
    if not files:
        raise SegStudioError("no input images found; give image files or folders that contain images")
    files, rank, world = shard(files)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SegStudioError(f"cannot create the output folder {out} ({e.strerror})") from None
    labels = read_label_file(args.labels) if args.labels else None
    if args.crf:
        require_pydensecrf()
    progress, close_bar = _download_bar()
    try:
        pipeline = open_pipeline(args.model, args.weights, device=_device(args.device), labels=labels,
                                 progress=progress if rank == 0 else None, cache=_no_cache(),
                                 resize=args.resize, max_side=args.max_side, crf=args.crf,
                                 crf_overrides={"iterations": args.crf_iterations, "max_side": args.crf_max_side},
                                 crf_force=args.crf_force, score_threshold=args.score_threshold,
                                 mask_threshold=args.mask_threshold)
    finally:
        close_bar()
    if rank == 0:
        report_pipeline(pipeline, args.crf, args.resize)

    clashes = stem_clashes(files)
    failed = 0
    label = "predict" if world == 1 else f"predict (rank {rank}/{world})"
    ok_files = [f for f in files if f not in clashes]
    for f, other in clashes.items():
        print(f"error: {f}: another input ({other}) has the same name stem; its output would be "
              f"overwritten. Predict them into separate --out folders", file=sys.stderr)
        failed += 1
    with ProgressBar(len(ok_files), label, enabled=None if rank == 0 else False) as bar:
        for item in predict_files(pipeline, ok_files, args.workers):
            if item.error is not None:
                failed += 1
                print(f"\nerror: {item.error}" if bar.enabled else f"error: {item.error}", file=sys.stderr)
            else:
                try:
                    write_prediction(out, item.path.stem, item.result, overlap=args.overlap)
                except SegStudioError as e:
                    failed += 1
                    print(f"error: {item.path}: {e}", file=sys.stderr)
            bar.update()
    done = len(files) - failed
    print(f"{done} of {len(files)} images predicted into {out}" + (f"; {failed} failed" if failed else ""),
          file=sys.stderr)
    return 2 if failed else 0


def _no_cache():
    """A one-shot command keeps no model in the process-wide cache."""
    from segstudio.ml.model_cache import ModelCache

    return ModelCache()
