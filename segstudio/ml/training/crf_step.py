"""The end of a fine-tuning run: fit the dense CRF to the best checkpoint and the validation images.

``fit_crf_for_run(trainer)`` loads the published ``best.pt`` through the
prediction pipeline (its card's working size), predicts the validation images
once, runs the time-boxed search of ``segstudio.ml.crf_fit`` (progress as
``on_phase("crf", ...)`` events) and republishes ``best.pt`` / ``best.json``
with the result in the card's ``usage.crf``: the fitted settings, or that no
setting beat no CRF.  Main process only; a missing pydensecrf or too few
validation images is said in a message and the card says "not_fitted".
"""

from __future__ import annotations

from pathlib import Path

MAX_IMAGES = 32       # validation images predicted for the fit (spread over the set): 16 fit, 16 check


def default_budget_s(max_minutes: float | None) -> float:
    """Seconds for the search: a tenth of the training budget, 30 s to 3 min (60 s without a budget)."""
    if max_minutes is None:
        return 60.0
    return float(min(180.0, max(30.0, 6.0 * max_minutes)))


def fit_crf_for_run(trainer) -> dict | None:
    """Fit and record; returns the republished card (None when nothing was fitted)."""
    from segstudio.ml import crf as crf_mod
    from segstudio.ml.crf_fit import collect_samples, fit_crf
    from segstudio.ml.model_cache import ModelCache
    from segstudio.ml.pipeline import Pipeline
    from segstudio.ml.training import checkpoint as ck
    from segstudio.ml.usage import with_usage

    cfg = trainer.config
    best = Path(trainer.out) / "best.pt"
    budget = cfg.crf_fit_seconds if cfg.crf_fit_seconds is not None else default_budget_s(cfg.max_minutes)
    if (trainer.task != "semantic" or not cfg.fit_crf or budget <= 0 or not cfg.validate
            or not cfg.write_checkpoints or not best.exists()):
        return None
    if len(trainer.data.val) < 4:
        trainer.message("dense CRF not fitted: it needs at least 4 validation images (2 to fit, 2 to check)")
        return None
    try:
        crf_mod.require_pydensecrf()
    except Exception as e:  # a ModelError saying how to install it
        trainer.message(f"dense CRF not fitted: {e}")
        return None
    loaded = ModelCache().get(None, str(best))
    pipeline = Pipeline.build(loaded, trainer.device, trainer.tm.labels)
    stop = lambda: trainer.cancelled  # noqa: E731

    def progress(done, total, text):
        trainer.phase("crf", done, total, text)

    trainer.phase("crf", 0, 0, f"fitting the dense CRF to the validation images (up to {budget:.0f} s)…")
    samples = collect_samples(pipeline, trainer.data.val, MAX_IMAGES, progress, stop)
    fit = fit_crf(samples, len(trainer.tm.labels), budget_s=budget, progress=progress, should_stop=stop,
                  seed=cfg.seed) if not trainer.cancelled else None
    if fit is None:
        return None
    ckpt = ck.load_checkpoint(best)
    ckpt["card"] = with_usage(ckpt["card"], crf=fit.to_card())
    ck.publish_checkpoint(best, ckpt)
    trainer.message(("dense CRF fitted: " if fit.status == "fitted" else "dense CRF: ") + fit.note)
    return ckpt["card"]
