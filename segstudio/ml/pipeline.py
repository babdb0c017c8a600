"""The one prediction pipeline: load → predict → CRF → a result of the same type.

``open_pipeline(model, weights, ...)`` loads the model through the model cache
(``MODEL_CACHE``) and reads its card once: the working size the checkpoint was
trained and validated at (used unless ``resize`` says otherwise) and the dense
CRF settings fitted to its validation images (used when the CRF is asked for).
``Pipeline.predict(rgb)`` returns a ``SemanticResult`` or ``InstanceResult``;
with the CRF on, the refined result is again a ``SemanticResult`` /
``InstanceResult`` (the class map or the instance masks replaced).  The app's
prediction worker, ``segstudio predict``, ``segstudio evaluate --model``, the
trainer's validation and the CRF fit all predict through it.

``Pipeline.notes`` holds what a user should be told once (e.g. that the card
says the CRF did not help this model); callers print or show them.
"""

from __future__ import annotations

from typing import Any

from segstudio.ml.crf import CRFParams
from segstudio.ml.usage import CRF_FITTED, CRF_NO_GAIN, CardUsage, usage_of


def crf_params_for(loaded, usage: CardUsage, overrides: dict | None = None,
                   force: bool = False) -> tuple[CRFParams | None, list[str]]:
    """The CRF settings to use for ``loaded`` (None: do not refine) and notes for the user.

    Fitted settings from the checkpoint's card come first; a card that says no
    setting helped makes the CRF a no-op with a warning unless ``force``;
    otherwise the model card's defaults.  ``overrides`` (CRFParams fields) win.
    """
    overrides = {k: v for k, v in dict(overrides or {}).items() if v is not None}
    if usage.crf_status == CRF_FITTED:
        return CRFParams.from_dict(usage.crf_params, **overrides), []
    if usage.crf_status == CRF_NO_GAIN:
        if not force:
            return None, [f"warning: dense CRF skipped: {usage.crf_note}"]
        base = usage.crf_params or loaded.card.crf
        return CRFParams.from_dict(base, **overrides), [f"warning: {usage.crf_note}; refining anyway as asked"]
    return CRFParams.from_dict(loaded.card.crf, **overrides), []


class Pipeline:
    """A ``Predictor`` and the CRF settings to refine its results with (None: no CRF)."""

    def __init__(self, predictor, crf: CRFParams | None = None, usage: CardUsage | None = None,
                 notes: list[str] | None = None):
        self.predictor = predictor
        self.crf = crf
        self.usage = usage or CardUsage()
        self.notes = list(notes or [])

    @classmethod
    def build(cls, loaded, device: Any = "auto", labels=None, *, resize: int | None = None, crf: bool = False,
              crf_overrides: dict | None = None, crf_force: bool = False, **predictor_options) -> "Pipeline":
        """A pipeline for a ``LoadedModel``: the working size and CRF settings from its card
        unless ``resize`` (0 = the image's own size) / ``crf_overrides`` say otherwise."""
        from segstudio.ml.predictor import Predictor

        usage = usage_of(loaded.checkpoint_card)
        if resize is None and usage.working_size:
            resize = usage.working_size
        predictor = Predictor(loaded, device, labels=labels, resize=resize, **predictor_options)
        params, notes = crf_params_for(loaded, usage, crf_overrides, crf_force) if crf else (None, [])
        if params is not None:
            from segstudio.ml.crf import require_pydensecrf

            require_pydensecrf()
        return cls(predictor, params, usage, notes)

    # -- what it is -------------------------------------------------------------
    @property
    def loaded(self):
        return self.predictor.loaded

    @property
    def task(self) -> str:
        return self.predictor.task

    @property
    def labels(self):
        return self.predictor.labels

    @property
    def device(self):
        return self.predictor.device

    @property
    def working_size(self) -> int | None:
        return self.predictor.resize

    @property
    def model_id(self) -> str:
        return f"{self.loaded.card.name}@{self.loaded.version}"

    def without_crf(self) -> "Pipeline":
        return Pipeline(self.predictor, None, self.usage, [])

    # -- predicting ---------------------------------------------------------------
    def predict(self, image: Any, source: str = "image", check=None):
        """Predict one uint8 RGB image, refined with the CRF when it is on.

        ``check()`` (optional) is called between the model and the CRF, so a
        cancelled job stops before the slower refinement."""
        from segstudio.ml.predictor import as_rgb

        rgb = as_rgb(image, source)
        result = self.predictor.predict(rgb, source)
        if self.crf is None:
            return result
        if check is not None:
            check()
        return self.refine(rgb, result)

    def refine(self, rgb, result, params: CRFParams | None = None):
        """``result`` refined with the dense CRF (``params`` or the pipeline's): same type."""
        from segstudio.ml.crf import refine_result

        return refine_result(rgb, result, params or self.crf or CRFParams())


def open_pipeline(model: str | None, weights: Any = "default", *, device: Any = "auto", labels=None,
                  progress=None, cache=None, **options) -> Pipeline:
    """Load (through ``cache``, default ``MODEL_CACHE``) and build a ``Pipeline``; see ``Pipeline.build``."""
    from segstudio.ml.model_cache import MODEL_CACHE

    cache = MODEL_CACHE if cache is None else cache
    loaded = cache.get(model, weights, progress=progress)
    return Pipeline.build(loaded, device, labels, **options)
