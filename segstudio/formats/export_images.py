"""Putting a project's images into an exported dataset.

An image is copied byte for byte when the target format allows it; it is
re-encoded only when it must be: Pascal VOC wants JPEG files, and an image
whose EXIF orientation rotates it must be stored upright, because dataset
readers (torchvision, pycocotools users) ignore EXIF and the masks are drawn
on the upright image.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from segstudio.errors import ImageLoadError
from segstudio.formats.images import exif_orientation, load_image

JPEG_QUALITY = 95


def _probe(path: Path) -> tuple[str | None, int, tuple[int, int]]:
    """(PIL format, EXIF orientation, stored (w, h)) without decoding the pixels."""
    try:
        with Image.open(path) as im:
            return im.format, exif_orientation(im), im.size
    except FileNotFoundError:
        raise ImageLoadError(f"{path}: image file not found; was it moved or deleted from the project?") from None
    except (UnidentifiedImageError, OSError) as e:
        raise ImageLoadError(f"{path}: cannot be read ({e})") from None


def _check_size(path: Path, size: tuple[int, int], expected: tuple[int, int] | None) -> None:
    if expected is not None and tuple(size) != tuple(expected):
        raise ImageLoadError(f"{path}: is {size[0]}×{size[1]} but its annotation is {expected[0]}×{expected[1]}; "
                             "the image changed after it was annotated - re-annotate it or restore the original")


def _write_array(rgb: np.ndarray, dst: Path) -> None:
    ext = dst.suffix.lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if ext in (".jpg", ".jpeg") else []
    if ext in (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm"):
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(rgb[:, :, ::-1]), params)
        if not ok:
            raise ImageLoadError(f"{dst}: could not encode the image")
        dst.write_bytes(buf.tobytes())
    else:  # e.g. gif: keep the extension, store losslessly
        Image.fromarray(rgb).save(dst, format="PNG")


def export_image(src: Path, dst: Path, expected_size: tuple[int, int] | None = None,
                 jpeg: bool = False) -> bool:
    """Copy or re-encode ``src`` to ``dst``; True if the bytes were copied unchanged.

    ``expected_size`` is the annotation's (width, height); a different image is
    an error.  With ``jpeg`` the result is a JPEG file.
    """
    fmt, orientation, size = _probe(src)
    upright = orientation == 1
    oriented = size if orientation in (1, 2, 3, 4) else (size[1], size[0])
    _check_size(src, oriented, expected_size)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if upright and (not jpeg or fmt == "JPEG"):
        shutil.copyfile(src, dst)
        return True
    _write_array(load_image(src), dst)
    return False
