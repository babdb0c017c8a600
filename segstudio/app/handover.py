"""When a new checkpoint replaces the model in use (no Qt; the Train tab's controller asks).

Before a run trains, the model in use is scored on the run's validation images
through the prediction pipeline (``remote.score_incumbent``); each checkpoint
the run publishes carries its validation score on the same images, measured the
same way.  ``HandOver.consider`` says whether the checkpoint replaces the model
in use: only when it scores at least as well.  Once it does, it *is* the model
in use, and the next checkpoint has to match it.  When the model in use could
not be scored (offline weights, an instance model, no validation images) or the
run has no validation score, the checkpoint is used and the reason is given.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    use: bool
    text: str


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


class HandOver:
    def __init__(self, metric: str = "mIoU"):
        self.metric = metric
        self.incumbent: dict | None = None     # what remote.score_incumbent reported
        self.in_use_score: float | None = None
        self.in_use_name = "the model in use"
        self.note = ""

    def set_incumbent(self, scored: dict | None) -> str:
        """Remember the model in use's score; returns a line for the panel."""
        self.incumbent = scored
        if not scored:
            self.note = "no model in use to compare with: a new checkpoint will be used"
            return self.note
        if scored.get("error"):
            self.note = (f"the model in use ({scored.get('model')}) could not be scored ({scored['error']}); "
                         "a new checkpoint will be used")
            return self.note
        self.in_use_score = float(scored["score"] or 0.0)
        self.in_use_name = f"the model in use ({scored.get('model')})"
        self.note = (f"{self.in_use_name}: {self.metric} {_pct(self.in_use_score)} on the {scored.get('images')} "
                     f"validation images; a new checkpoint replaces it only if it scores at least as well")
        return self.note

    def consider(self, version: str, score: float | None) -> Verdict:
        """Does the checkpoint ``version`` with validation ``score`` replace the model in use?"""
        if score is None:
            return Verdict(True, f"{version} has no validation score (no validation images): used")
        if self.in_use_score is None:
            self.in_use_score, self.in_use_name = float(score), f"the fine-tuned {version}"
            return Verdict(True, f"{version} ({self.metric} {_pct(score)}) is now in use"
                           + (f"; {self.note}" if self.note and self.incumbent and self.incumbent.get("error")
                              else ""))
        if score >= self.in_use_score:
            before, name = self.in_use_score, self.in_use_name
            self.in_use_score, self.in_use_name = float(score), f"the fine-tuned {version}"
            return Verdict(True, f"{version} scores {self.metric} {_pct(score)} on the validation images, at least "
                                 f"as well as {name} ({_pct(before)}): now in use")
        return Verdict(False, f"{version} scores {self.metric} {_pct(score)} on the validation images, below "
                              f"{self.in_use_name} ({_pct(self.in_use_score)}): the model in use was kept")

    def take(self, version: str, score: float | None) -> None:
        """The user put ``version`` in use anyway: it is the one to match from now on."""
        if score is not None:
            self.in_use_score, self.in_use_name = float(score), f"the fine-tuned {version}"
