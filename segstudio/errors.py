"""The error types every layer raises.

A ``SegStudioError`` is an expected failure caused by the user's input or
environment (a corrupt image, a missing weights file, a malformed JSON).  Its
message says what is wrong, with which file/model/class, and what to do.  The
app shows it and keeps running; the CLI prints ``error: ...`` and exits with 2.
Anything else escaping is a bug.
"""

from __future__ import annotations


class SegStudioError(Exception):
    """Base class of all expected, user-facing errors."""


class LabelError(SegStudioError):
    """A label set or label file is invalid."""


class EditError(SegStudioError):
    """An edit cannot be applied to the document (bad class, unknown instance...)."""


class ImageLoadError(SegStudioError):
    """An image file cannot be read (corrupt, truncated, too large, not an image)."""


class FormatError(SegStudioError):
    """A data file (mask, JSON, dataset) is malformed or inconsistent."""


class ProjectError(SegStudioError):
    """A project folder cannot be opened, read or saved."""


class ModelError(SegStudioError):
    """A model cannot be built, loaded or run."""


class Cancelled(SegStudioError):
    """The user cancelled a long operation (an export, an import); nothing was changed."""


class TrainingError(ModelError):
    """Fine-tuning cannot start or go on (bad data, non-finite loss, out of memory...)."""
