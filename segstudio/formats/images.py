"""Robust image loading: any common file to an RGB uint8 H×W×3 array.

EXIF orientation is applied.  Grayscale, palette, RGBA (alpha dropped), CMYK,
16-bit and float images are converted; 16-bit data is scaled from its full
range (0..65535) to 0..255.  Corrupt, truncated, empty and non-image files and
images above the pixel limit raise ``ImageLoadError`` naming the file.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segstudio.errors import ImageLoadError, SegStudioError
from segstudio.formats.fileaccess import open_problem, os_error_text

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".gif")
DEFAULT_MAX_PIXELS = 250_000_000
MAX_PIXELS_ENV = "SEGSTUDIO_MAX_PIXELS"

# We enforce our own, configurable limit before decoding (see max_pixels()).
Image.MAX_IMAGE_PIXELS = None


def max_pixels() -> int:
    value = os.environ.get(MAX_PIXELS_ENV)
    if value:
        try:
            return int(float(value))
        except ValueError:
            raise ImageLoadError(f"{MAX_PIXELS_ENV}={value!r} is not a number of pixels") from None
    return DEFAULT_MAX_PIXELS


def is_image_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def open_image(path: Path, error: type[SegStudioError] = ImageLoadError, what: str = "image file") -> Image.Image:
    """``Image.open`` (header only) with what is wrong said in words: missing, not a regular file,
    empty, unreadable (permissions...), not an image, damaged."""
    problem = open_problem(path, what)
    if problem is not None:
        raise error(f"{path}: {problem}")
    try:
        with warnings.catch_warnings():  # Pillow's "Corrupt EXIF data" & co: nothing a user can act on
            warnings.simplefilter("ignore")
            return Image.open(path)
    except UnidentifiedImageError:
        raise error(
            f"{path}: not an image segstudio can read (supported: {', '.join(IMAGE_EXTENSIONS)})") from None
    except Image.DecompressionBombError as e:  # only when a caller set Pillow's own limit
        raise error(f"{path}: {e}") from None
    except OSError as e:
        if e.errno is not None:  # the system refused the file, its content was never seen
            raise error(f"{path}: cannot be read ({os_error_text(e)})") from None
        raise error(f"{path}: cannot be opened ({e}); the file is damaged or truncated, "
                    "re-copy or re-export it") from None


def exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 when absent); a malformed EXIF block reads as 1, without
    Pillow's "Corrupt EXIF data" warning on stderr (the pixels are still usable)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - any EXIF parsing failure
        return 1


def _oriented_size(im: Image.Image) -> tuple[int, int]:
    w, h = im.size
    orientation = exif_orientation(im)
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) as displayed (after EXIF orientation), without decoding the pixels."""
    path = Path(path)
    with open_image(path) as im:
        return _oriented_size(im)


def pixel_limit_problem(w: int, h: int, limit: int | None = None) -> str | None:
    """None when a w×h image is within the pixel limit, else what to say about it."""
    limit = max_pixels() if limit is None else int(limit)
    if w * h <= limit:
        return None
    return (f"{w}×{h} = {_pixels(w * h)}, above the limit of {_pixels(limit)}; "
            f"raise it with the environment variable {MAX_PIXELS_ENV} if you have the memory")


def _pixels(n: int) -> str:
    return f"{n / 1e6:.0f} megapixels" if n >= 10_000_000 else f"{n:,} pixels"


def check_pixel_limit(path: str | os.PathLike, w: int, h: int, limit: int | None = None,
                      error: type[SegStudioError] = ImageLoadError) -> None:
    problem = pixel_limit_problem(w, h, limit)
    if problem is not None:
        raise error(f"{path}: {problem}")


def _check_limit(path: Path, w: int, h: int, limit: int) -> None:
    check_pixel_limit(path, w, h, limit)


def _to_rgb(im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        a = np.asarray(im)
        if mode == "F":
            a = a.astype(np.float64)
            finite = np.isfinite(a)
            a = np.where(finite, a, 0.0)
            lo, hi = (a[finite].min(), a[finite].max()) if finite.any() else (0.0, 1.0)
            if lo >= 0.0 and hi <= 1.0:
                a = a * 255.0
            elif hi > lo:
                a = (a - lo) * (255.0 / (hi - lo))
            gray = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        else:
            a = a.astype(np.int64)
            hi = int(a.max(initial=0))
            if hi <= 255 and mode == "I":
                gray = np.clip(a, 0, 255).astype(np.uint8)
            elif hi <= 65535:
                gray = np.clip((a + 128) // 257, 0, 255).astype(np.uint8)
            else:
                gray = np.clip(a * 255 // hi, 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode in ("P", "PA") and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


def _load_with_opencv(path: Path, limit: int) -> np.ndarray | None:
    """Fallback for files Pillow cannot decode (16-bit colour TIFF, for instance)."""
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    a = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if a is None:
        return None
    _check_limit(path, a.shape[1], a.shape[0], limit)
    if a.dtype == np.uint16:
        a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = cv2.normalize(a, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return np.ascontiguousarray(a[:, :, ::-1])


def load_image(path: str | os.PathLike, max_pixels_: int | None = None) -> np.ndarray:
    """Read an image file as RGB uint8 H×W×3 (EXIF orientation applied)."""
    path = Path(path)
    limit = max_pixels() if max_pixels_ is None else int(max_pixels_)
    im = open_image(path)
    with im:
        w, h = im.size
        _check_limit(path, w, h, limit)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                im.load()
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            fallback = _load_with_opencv(path, limit) if path.suffix.lower() in (".tif", ".tiff") else None
            if fallback is not None:
                return fallback
            raise ImageLoadError(
                f"{path}: the image data is corrupt or truncated ({e}); re-copy or re-export the file") from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                oriented = ImageOps.exif_transpose(im)
        except Exception:  # malformed EXIF block: use the pixels as stored
            oriented = im
        try:
            rgb = _to_rgb(oriented)
        except (OSError, ValueError) as e:
            fallback = _load_with_opencv(path, limit)
            if fallback is not None:
                return fallback
            raise ImageLoadError(f"{path}: unsupported pixel format {im.mode} ({e})") from None
    return np.ascontiguousarray(rgb, dtype=np.uint8)
