"""Messages from ``segstudio.ml`` say what to do with command-line options; the app says it with
the controls of the panel that shows them.

``in_tab_words`` is for the Train tab, ``in_model_panel_words`` for the Model panel.  Each is a
list of rewrites, whole phrases first, then single options; an option matches only as a whole
(``--weights`` is not the end of ``--class-weights``).
"""

from __future__ import annotations

import re


def _option(name: str) -> str:
    return rf"(?<![\w-]){re.escape(name)}(?![\w-])"


def _phrase(text: str) -> str:
    return re.escape(text)


TRAIN_TAB = [
    (_phrase("or use --weights FILE / --weights none"),
     'or choose a checkpoint file or "none" (train from scratch) in the Weights box of this tab'),
    (_phrase("Give --crop / --batch-size / --base-size / --eval-size to choose yourself"),
     'Untick "auto" beside Size and set batch and crop to choose yourself'),
    (_phrase("(or pass --include-predicted to train on unreviewed predictions)"),
     "(File → Mark reviewed, Ctrl+R, accepts an image's prediction as it is)"),
    (_phrase("--weights none"), 'weights "none"'),
    (_option("--weights"), "the Weights box"), (_option("--batch-size"), "the batch size"),
    (_option("--crop"), "the crop size"), (_option("--max-minutes"), "the Minutes box"),
    (_option("--epochs"), "the Epochs box"), (_option("--model"), "the Base model box"),
    (_option("--masks"), "the Masks box"), (_option("--labels"), "the Labels box"),
    (_option("--void"), "the Void ids box"), (_option("--lr"), "the learning rate"),
    (_option("--loss"), "the Loss box"), (_option("--class-weights"), "the class weights box"),
    (_option("--border-weight"), "the border weight (w0)"), (_option("--border-sigma"), "σ"),
]

MODEL_PANEL = [
    (_phrase("or use --weights FILE / --weights none"),
     'or choose weights "none" (untrained) or a checkpoint file in the Weights box'),
    (_phrase("--weights default gives only"), 'weights "default" give only'),
    (r" \(segstudio finetune DATA --model [^)\s]+\)", " (in the Train tab)"),
    (_phrase("use a fine-tuned checkpoint (--weights RUN/best.pt)"),
     "choose a fine-tuned checkpoint (a run's best.pt) in the Weights box"),
    (_phrase("use --weights none or a checkpoint"), 'choose weights "none" or a checkpoint file'),
    (_phrase("--weights default / none"), 'weights "default" or "none"'),
    (_phrase("--weights none"), 'weights "none"'),
    (_phrase("pick the matching --model"), "choose the matching model in the Model box"),
    (_phrase("(--model NAME)"), "(in the Model box)"),
    (_option("--model") + r" ([\w.-]+)", r"the model \1 in the Model box"),
    (_phrase("predict without --crf"), 'untick "dense CRF"'),
]


def _rewrite(text: str, rules) -> str:
    for pattern, new in rules:
        text = re.sub(pattern, new, text)
    return text


def in_tab_words(text: str) -> str:
    """An ``ml`` message as the Train tab says it."""
    return _rewrite(text, TRAIN_TAB)


def in_model_panel_words(text: str) -> str:
    """An ``ml`` message as the Model panel says it."""
    return _rewrite(text, MODEL_PANEL)
