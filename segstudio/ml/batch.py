"""Predict many files: images are decoded in DataLoader worker processes while
the model runs, and a bad file yields an error instead of stopping the batch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence


class FileResult(NamedTuple):
    path: Path
    image: object         # uint8 H×W×3, or None when it could not be read
    result: object        # SemanticResult / InstanceResult, or None
    error: str | None


class ImageFiles:
    """A map-style dataset of decoded images: item i = (i, rgb or None, error or None)."""

    def __init__(self, paths: Sequence[str | os.PathLike]):
        self.paths = [Path(p) for p in paths]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        from segstudio.errors import SegStudioError
        from segstudio.formats.images import load_image

        try:
            return i, load_image(self.paths[i]), None
        except SegStudioError as e:
            return i, None, str(e)
        except OSError as e:
            return i, None, f"{self.paths[i]}: cannot read ({e.strerror or e})"
        except Exception as e:  # a decoder bug must not end the whole batch
            return i, None, f"{self.paths[i]}: cannot decode ({type(e).__name__}: {e})"


def _as_is(item):
    return item


def default_workers(n_files: int) -> int:
    return 0 if n_files < 2 else min(2, os.cpu_count() or 1, n_files)


def iter_images(paths: Sequence[str | os.PathLike], num_workers: int | None = None):
    """Yield (index, rgb or None, error or None) in order, decoding in worker processes."""
    from torch.utils.data import DataLoader

    ds = ImageFiles(paths)
    workers = default_workers(len(ds)) if num_workers is None else num_workers
    loader = DataLoader(ds, batch_size=None, shuffle=False, num_workers=workers, collate_fn=_as_is,
                        prefetch_factor=2 if workers else None, persistent_workers=False)
    yield from loader


def predict_files(predictor, paths: Sequence[str | os.PathLike], num_workers: int | None = None,
                  refine=None) -> Iterator[FileResult]:
    """Predict each file; ``refine(image, result) -> result`` runs after the model (e.g. the CRF)."""
    from segstudio.errors import SegStudioError

    files = [Path(p) for p in paths]
    for i, rgb, error in iter_images(files, num_workers):
        if error is not None:
            yield FileResult(files[i], None, None, error)
            continue
        try:
            result = predictor.predict(rgb, source=str(files[i]))
            if refine is not None:
                result = refine(rgb, result)
        except SegStudioError as e:
            yield FileResult(files[i], rgb, None, str(e))
            continue
        yield FileResult(files[i], rgb, result, None)
