"""What the exporters share: the summary they return and which images they write."""

from __future__ import annotations

from dataclasses import dataclass, field

from segstudio.errors import FormatError
from segstudio.formats.split import split_keys


@dataclass
class ExportSummary:
    format: str
    out_dir: str
    train: int = 0
    val: int = 0
    annotations: int = 0
    copied_images: int = 0
    reencoded_images: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def images(self) -> int:
        return self.train + self.val

    def to_json(self) -> dict:
        return {"format": self.format, "out_dir": self.out_dir, "images": self.images, "train": self.train,
                "val": self.val, "annotations": self.annotations, "copied_images": self.copied_images,
                "reencoded_images": self.reencoded_images, "notes": list(self.notes)}


def export_keys(project, keys=None) -> list[str]:
    """The images an export writes: ``keys`` or the labelled images, in project order."""
    if keys is None:
        return project.labelled_keys()
    known = {e.key for e in project.images}
    missing = [k for k in keys if k not in known]
    if missing:
        raise FormatError(f"{project.root}: no image '{missing[0]}' in the project")
    return list(keys)


def project_split(project, keys, val_fraction, seed):
    """(train, val) keys; a split kept in the project settings (from an import) is honoured."""
    return split_keys(keys, val_fraction, seed, fixed=project.settings.get("split"))
