"""Fine-tuning in a child process, reported as events: what the app's Train tab runs.

The app must stay responsive while a model trains: no event-loop stall over
50 ms.  In a thread of the app's process, training competes for the GIL with
the GUI thread (the data pipeline's Python code, and pydensecrf, which holds
the GIL for a whole CRF run while the fit searches its settings), so the app
runs ``run_job`` in a child process (``multiprocessing`` "spawn" context; the
child imports torch, the app's process never waits for it).

``run_job(job, events, cancel)`` (the child's entry point):

1. opens the data (``phase`` events from the first second);
2. scores the model in use (``job["incumbent"]``: model, weights) on the
   validation images through the prediction pipeline, at its own working size
   — the score a new checkpoint must match to replace it (``incumbent`` event);
3. trains with ``Trainer`` (iteration, epoch, checkpoint, message and phase
   events; the CRF fit at the end included) and writes ``metrics.jsonl`` as
   the CLI does;
4. ends with a ``result`` event (the ``TrainResult``) or ``failed`` (a message).

Events are ``(kind, payload)`` tuples of plain picklable data on ``events``
(a ``multiprocessing`` queue); ``cancel`` (a ``multiprocessing`` event) stops
the run at the next batch boundary.  Nothing here imports Qt.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from segstudio.ml.training.hooks import Hook


class QueueHook(Hook):
    """Trainer hook events onto a queue (runs in the child)."""

    def __init__(self, events):
        self.events = events

    def _put(self, kind, payload):
        self.events.put((kind, payload))

    def on_iteration(self, trainer, info):
        self._put("iteration", info)

    def on_epoch(self, trainer, info):
        self._put("epoch", info)

    def on_checkpoint(self, trainer, info):
        self._put("checkpoint", info)

    def on_message(self, trainer, text):
        self._put("message", text)

    def on_phase(self, trainer, info):
        self._put("phase", info)


def score_incumbent(incumbent: dict, data, device="auto", progress=None, should_stop=None) -> dict:
    """mIoU of the model in use on ``data.val`` (predicted into the data's labels by class name, at
    its card's working size).  ``{"score", "images", "digest", "model"}`` or ``{"error": message}``."""
    from segstudio.errors import SegStudioError
    from segstudio.ml.model_cache import ModelCache
    from segstudio.ml.pipeline import Pipeline
    from segstudio.ml.scoring import score_semantic
    from segstudio.ml.usage import keys_digest

    out = {"model": f"{incumbent.get('model')} ({incumbent.get('weights')})", "images": len(data.val),
           "digest": keys_digest(data.val.keys)}
    if data.task != "semantic":
        return out | {"error": "the model in use is compared only for semantic models"}
    if len(data.val) == 0:
        return out | {"error": "there are no validation images"}
    try:
        loaded = ModelCache().get(incumbent.get("model"), incumbent.get("weights", "default"))
        if loaded.task != "semantic":
            return out | {"error": f"{loaded.card.name} is an instance model"}
        from segstudio.ml.classmap import class_lut

        if (class_lut(loaded.labels, data.labels)[:len(loaded.labels)] == 255).all():  # nothing to predict
            return out | {"score": 0.0, "model_id": f"{loaded.card.name}@{loaded.version}",
                          "note": "it shares no class name with the data"}
        pipeline = Pipeline.build(loaded, device, data.labels)
        metrics = score_semantic(pipeline, data.val, len(data.labels), progress=progress, should_stop=should_stop)
    except SegStudioError as e:
        return out | {"error": str(e).splitlines()[0]}
    return out | {"score": metrics.miou, "model_id": pipeline.model_id, "working_size": pipeline.working_size}


def run_job(job: dict, events, cancel) -> None:
    """The child's main: see the module doc.  ``job``: {"config": TrainConfig kwargs, "spec":
    DataSpec kwargs, "incumbent": {"model", "weights"} or None, "threads": int or None}."""
    try:
        _run(job, events, cancel)
    except BaseException as e:  # the parent must always hear how it ended
        from segstudio.errors import SegStudioError

        if isinstance(e, SegStudioError):
            events.put(("failed", str(e)))
        else:
            events.put(("failed", f"training stopped by an internal error ({type(e).__name__}: {e}); please "
                                  "report it\n" + traceback.format_exc(limit=8)))


def _lower_priority() -> None:
    """In a child process: let the GUI go first when they compete for the CPU."""
    import multiprocessing
    import os

    if multiprocessing.parent_process() is not None and hasattr(os, "nice"):
        try:
            os.nice(5)
        except OSError:
            pass


def _run(job: dict, events, cancel) -> None:
    from segstudio.ml.training.hooks import JsonLogHook, PhaseInfo

    _lower_priority()

    def phase(name, done=0, total=0, text=""):
        events.put(("phase", PhaseInfo(name, done, total, text)))

    phase("data", text="opening the training data…")
    if job.get("threads"):
        import torch

        torch.set_num_threads(int(job["threads"]))
    from segstudio.ml.data import DataSpec, open_data
    from segstudio.ml.training.trainer import TrainConfig, Trainer

    config = TrainConfig(**job["config"])
    data = open_data(DataSpec(**job["spec"]))
    if cancel.is_set():
        events.put(("result", None))
        return
    incumbent = job.get("incumbent")
    if incumbent:
        phase("incumbent", 0, len(data.val), f"scoring the model in use on the {len(data.val)} validation images…")
        scored = score_incumbent(incumbent, data, config.device,
                                 progress=lambda d, t: phase("incumbent", d, t, f"scoring the model in use: "
                                                             f"{d}/{t} validation images"),
                                 should_stop=cancel.is_set)
        events.put(("incumbent", scored))
    Path(config.out).mkdir(parents=True, exist_ok=True)
    trainer = Trainer(config, data, [QueueHook(events), JsonLogHook(Path(config.out) / "metrics.jsonl")])

    def watch():
        cancel.wait()
        trainer.cancel()
    threading.Thread(target=watch, daemon=True).start()
    phase("model", text=f"building {config.model}…")
    trainer.setup()
    events.put(("message", f"training on {len(data.train)} images ({len(data.val)} for validation), device "
                           f"{trainer.device}"))
    result = trainer.fit()
    events.put(("result", result))
