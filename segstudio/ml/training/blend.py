"""The end of a warm-started run: blend the starting and the trained weights (WiSE-FT).

A run that continues from a segstudio checkpoint of the same architecture and
classes (the model in use, fine-tuned again on a larger labelled set) ends
with two models on the same validation images: the one it started from and
the one it trained.  As Wortsman et al. found for fine-tuned models ("Robust
fine-tuning of zero-shot models", CVPR 2022), the straight line between the
two often holds a model better than both: a short fine-tune on a few images
overshoots towards them.  ``blend_for_run(trainer)`` scores the weights
``(1 − a) · start + a · trained`` for each ``a`` of ``ALPHAS`` (BatchNorm's
running statistics blended the same way) on the run's validation images, as
the trainer validates, and republishes ``best.pt`` with the best blend when it
scores higher than the trained weights; the card's ``blend`` entry records
every score either way.  a = 1 is the trained model, a = 0 the model the run
started from: the hand-over rule already compares against that.

Measured with ``benchmarks/bench_rounds.py``'s chained fine-tunes (CamVid,
LR-ASPP from random weights, 200 steps a round, hand-over on 81 val images,
20 held-out ones): the blend chosen on the validation images lowered the
held-out share of wrong pixels from 32.7 to 28.3 % after round 1 and from
25.8 to 21.2 % after round 2.

Main process scores and publishes; under torchrun every process validates its
share (as ``Trainer.evaluate``).  Instance models, runs without validation or
checkpoints, and starts that are not a full match (other classes, the
architecture's default weights) are left alone.
"""

from __future__ import annotations

from pathlib import Path

import torch

ALPHAS = (0.25, 0.5, 0.75)   # weights of the trained model tried between start (0) and trained (1)


def start_state(tm) -> dict | None:
    """A CPU copy of the starting weights of a ``TrainModel`` built from a checkpoint with every
    weight kept; None for the default or random weights, or when the heads were replaced."""
    from segstudio.ml.weights import _is_path

    if not _is_path(tm.base_weights) or tm.replaced_heads:
        return None
    return {k: v.detach().cpu().clone() for k, v in tm.model.state_dict().items()}


def blend_states(start: dict, trained: dict, alpha: float) -> dict:
    """``(1 − alpha) · start + alpha · trained`` for floating-point tensors; the others (counters) are
    the trained model's."""
    out = {}
    for k, t in trained.items():
        s = start[k].to(t.device)
        out[k] = torch.lerp(s, t, float(alpha)) if t.is_floating_point() else t.clone()
    return out


def _validate(*args, **kw):
    from segstudio.ml.training.validation import validate_semantic

    return validate_semantic(*args, **kw)


def blend_for_run(trainer) -> dict | None:
    """Score the blends and republish ``best.pt`` with the best one when it beats the trained
    weights; returns the republished card (None when nothing was republished)."""
    from segstudio.ml.training import checkpoint as ck
    from segstudio.ml.training import distributed as D
    from segstudio.ml.usage import with_usage

    cfg = trainer.config
    start = getattr(trainer, "start_state", None)
    best = Path(trainer.out) / "best.pt"
    if (start is None or not cfg.blend or trainer.task != "semantic" or not cfg.validate
            or not cfg.write_checkpoints or len(trainer.data.val) == 0 or trainer.best_score is None):
        return None
    D.barrier(trainer.ctx)
    if not best.exists():
        return None
    ckpt = ck.load_checkpoint(best)
    trained = ckpt["model"]
    model = trainer.model_plain
    own = {key: v.detach().clone() for key, v in model.state_dict().items()}   # put back afterwards
    n_val = len(trainer.data.val)
    scores: dict[float, float] = {1.0: float(trainer.best_score)}
    top = None   # (score, alpha, state, metrics) of the best blend so far
    try:
        for k, alpha in enumerate(ALPHAS):
            if trainer.cancelled:
                return None
            state = blend_states(start, trained, alpha)

            def progress(done: int, total: int, k=k, alpha=alpha) -> None:
                trainer.phase("blend", k * total + done, len(ALPHAS) * total,
                              f"blend {k + 1} of {len(ALPHAS)} ({alpha:.2f} trained + {1 - alpha:.2f} starting "
                              f"weights): validating on {n_val} image{'s' if n_val != 1 else ''}")

            model.load_state_dict({key: v.to(trainer.device) for key, v in state.items()})
            m = _validate(model, trainer.tm, trainer.val_set, trainer.device, trainer.working_size, trainer.amp,
                          trainer.ctx.rank, trainer.ctx.world, progress=progress)
            scores[alpha] = float(m.miou or 0.0)
            if top is None or scores[alpha] >= top[0]:
                top = (scores[alpha], alpha, state, m)
    finally:  # the run's model stays what it trained (last.pt), whichever blend is published
        model.load_state_dict(own)
    chosen = max(scores, key=lambda a: (scores[a], a))
    entry = {"alphas": {f"{a:g}": round(s, 6) for a, s in sorted(scores.items())}, "chosen": chosen,
             "start": str(cfg.weights)}
    if chosen == 1.0:
        trainer.message(f"blending with the starting weights did not beat the trained weights "
                        f"(best blend {max(s for a, s in scores.items() if a != 1.0) * 100:.1f} against "
                        f"{scores[1.0] * 100:.1f} mIoU): kept")
        card = dict(ckpt["card"], blend=entry)
    else:
        _, _, state, metrics = top
        trainer.best_score = score = scores[chosen]
        old = ckpt["card"]
        validation = dict((old.get("usage") or {}).get("validation") or {}, score=score)
        card = with_usage(dict(old, metrics=metrics.to_json(trainer.tm.labels.names), best_score=score,
                               score=dict(old.get("score") or {}, value=score), blend=entry),
                          validation=validation)
        ckpt["model"] = state
        trainer.message(f"blended {chosen:.2f} of the trained weights with the starting weights: mIoU "
                        f"{scores[chosen] * 100:.1f} against {scores[1.0] * 100:.1f} for the trained weights alone")
    ckpt["card"] = card
    if trainer.ctx.is_main:
        ck.publish_checkpoint(best, ckpt)
    D.barrier(trainer.ctx)
    return card if chosen != 1.0 else None
