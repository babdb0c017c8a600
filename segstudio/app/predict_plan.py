"""Before predicting over labels a person made: what will happen, asked as a question (Qt-free).

Pixels painted in the app and labels imported from a dataset are ground truth
(both are in the annotation's ``user_mask``); an image marked reviewed is
ground truth as a whole.  A prediction never replaces them silently:

* "keep pixels I painted" on and every pixel is ground truth: predicting would
  change nothing, so say so (and offer to replace them instead);
* "keep pixels I painted" off: ask before replacing painted/imported pixels;
* a reviewed image: ask before replacing the reviewed pixels that are not kept.

Otherwise (an unlabelled or predicted image, or painted pixels that are kept)
the prediction just runs.  ``predict_all_question`` asks once for a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

CANCEL = "cancel"
SKIP_LABELLED = "skip"


@dataclass(frozen=True)
class Question:
    title: str
    text: str
    # (button text, answer): answer is the keep_user value to predict with, or CANCEL / SKIP_LABELLED
    choices: tuple[tuple[str, object], ...]
    default: int = 0  # index of the default button


def labelled_share(doc) -> float:
    """Share of the pixels a person painted or a dataset import set (0..1)."""
    mask = doc.user_mask
    return float(mask.mean()) if mask.any() else 0.0


def predict_question(doc, keep_user: bool, name: str) -> Question | None:
    """The question to ask before predicting ``doc`` (the open image), or None to just predict."""
    share = labelled_share(doc)
    reviewed = doc.status == "reviewed"
    if share == 0 and not reviewed:
        return None
    if keep_user and share >= 1.0:
        return Question(
            "Nothing would change",
            f"Every pixel of {name} was painted or imported, and “keep pixels I painted” is on: the "
            "prediction would change nothing.\n\nReplace all of its labels with the prediction instead? "
            "(Ctrl+Z undoes it.)",
            (("Replace all labels", False), ("Cancel", CANCEL)), default=1)
    if keep_user and not reviewed:
        return None  # the painted pixels stay, as the checkbox says; the rest is the model's
    if keep_user:
        return Question(
            "Predict over a reviewed image?",
            f"{name} was marked reviewed. The prediction keeps the {share:.0%} of pixels that were painted "
            f"or imported and replaces the other {1 - share:.0%}, which were reviewed. (Ctrl+Z undoes it.)",
            (("Predict the other pixels", True), ("Cancel", CANCEL)), default=1)
    what = f"{share:.0%} of its pixels were painted or imported" if share else "it has no painted pixels"
    review = " and it was marked reviewed" if reviewed else ""
    choices: list[tuple[str, object]] = [("Replace all labels", False)]
    if share:
        choices.append(("Keep painted pixels", True))
    choices.append(("Cancel", CANCEL))
    return Question(
        "Replace the labels?",
        f"{name}: {what}{review}. “keep pixels I painted” is off, so the prediction replaces them. "
        "(Ctrl+Z undoes it.)",
        tuple(choices), default=len(choices) - 1)


def predict_all_question(statuses: dict[str, str], keep_user: bool) -> Question | None:
    """The question before "predict all" when some images have edited or reviewed labels."""
    edited = sum(1 for s in statuses.values() if s == "edited")
    reviewed = sum(1 for s in statuses.values() if s == "reviewed")
    labelled = edited + reviewed
    if not labelled:
        return None
    others = len(statuses) - labelled
    parts = ([f"{reviewed} reviewed or imported"] if reviewed else []) + ([f"{edited} edited"] if edited else [])
    effect = ("keeps their painted and imported pixels and replaces the rest (reviewed images included)"
              if keep_user else "replaces their labels, painted and imported pixels included")
    choices: list[tuple[str, object]] = []
    if others:
        choices.append((f"Only the other {others}", SKIP_LABELLED))
    choices += [(f"All {len(statuses)} images", keep_user), ("Cancel", CANCEL)]
    return Question(
        "Predict all images?",
        f"{labelled} of {len(statuses)} images already have labels ({', '.join(parts)}). Predicting them "
        f"{effect}; images other than the open one are saved at once, without undo.",
        tuple(choices), default=0)
