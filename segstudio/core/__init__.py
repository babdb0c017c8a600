"""The Qt-free, torch-free heart of segstudio: labels, the Annotation document,
edits, undo history and metrics (numpy and OpenCV only)."""

from segstudio.core.annotation import STATUSES, Annotation, Instance, Patch
from segstudio.core.history import History
from segstudio.core.labels import VOID_ID, LabelClass, LabelSet
from segstudio.core.metrics import ConfusionMatrix, Metrics

__all__ = ["Annotation", "Instance", "Patch", "History", "LabelSet", "LabelClass", "VOID_ID",
           "ConfusionMatrix", "Metrics", "STATUSES"]
