"""Texts that tell the user what the label set means for the tools (Qt-free)."""

from __future__ import annotations

from segstudio.core.labels import LabelSet


def eraser_tip(labels: LabelSet) -> str:
    """What the eraser writes with these labels, for its tool tip and the status bar."""
    if labels.has_background:
        return f"Eraser: erases to background ({labels.name_of(0)})"
    return (f"Eraser: erases to void — these labels have no background class "
            f"({labels.name_of(0)} is class 0), so erased pixels are left out of training")
