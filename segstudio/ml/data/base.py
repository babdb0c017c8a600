"""What every training dataset shares: samples with keys, a label set, an optional transform."""

from __future__ import annotations

from typing import Sequence

from segstudio.core.labels import LabelSet


class SampleDataset:
    """A list of samples (each with a ``key``) read one at a time by ``read(index)``.

    Subclasses implement ``read``; ``__getitem__`` applies the transform to what
    it returns, and ``subset`` / ``with_transform`` give datasets of the same kind.
    """

    def __init__(self, samples: Sequence, labels: LabelSet, transform=None, name: str = "data"):
        self.samples = list(samples)
        self.labels = labels
        self.transform = transform
        self.name = name

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.samples]

    def read(self, index: int):
        raise NotImplementedError

    def __getitem__(self, index: int):
        item = self.read(index)
        return item if self.transform is None else self.transform(*item)

    def subset(self, keys: Sequence[str], transform=None, name: str | None = None):
        by_key = {s.key: s for s in self.samples}
        return type(self)([by_key[k] for k in keys], self.labels,
                          self.transform if transform is None else transform, name or self.name)

    def with_transform(self, transform):
        return type(self)(self.samples, self.labels, transform, self.name)

    def summary(self) -> dict:
        return {"name": self.name, "images": len(self.samples)}
