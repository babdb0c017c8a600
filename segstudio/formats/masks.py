"""Label maps as PNG files.

* class maps: 8-bit palette PNGs (VOC colours by default, 255 void), which
  every segmentation toolkit reads as class indices;
* instance maps: 16-bit grayscale PNGs of instance ids;
* binary masks (the user mask): 1-bit PNGs.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from segstudio.core.labels import voc_palette
from segstudio.errors import FormatError
from segstudio.formats.atomic import atomic_write_bytes
from segstudio.formats.images import check_pixel_limit, open_image


def encode_label_png(class_map: np.ndarray, palette: np.ndarray | None = None) -> bytes:
    class_map = np.asarray(class_map)
    if class_map.ndim != 2 or class_map.dtype != np.uint8:
        raise FormatError(f"a class map must be 2-D uint8, got {class_map.dtype} {class_map.shape}")
    pal = voc_palette() if palette is None else np.asarray(palette, np.uint8).reshape(256, 3)
    h, w = class_map.shape
    im = Image.frombuffer("P", (w, h), np.ascontiguousarray(class_map).tobytes(), "raw", "P", 0, 1)
    im.putpalette(pal.reshape(-1).tolist())
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def write_label_png(path: str | os.PathLike, class_map: np.ndarray, palette: np.ndarray | None = None) -> None:
    atomic_write_bytes(path, encode_label_png(class_map, palette))


def _open_png(path: Path) -> Image.Image:
    """The decoded mask image; the pixel limit is checked on the header first."""
    im = open_image(path, FormatError, "mask file")
    try:
        check_pixel_limit(path, im.size[0], im.size[1], error=FormatError)
        im.load()
        return im
    except (OSError, SyntaxError, ValueError) as e:
        im.close()
        raise FormatError(f"{path}: not a readable label image ({e})") from None
    except BaseException:
        im.close()
        raise


def read_label_png(path: str | os.PathLike, palette: np.ndarray | None = None) -> np.ndarray:
    """A label image as uint8 class ids.

    Palette images give their indices; 8-bit (or 16-bit with values < 256)
    grayscale gives its values.  An RGB mask is decoded through ``palette``
    (colour -> id); a colour not in it is an error naming the file.
    """
    path = Path(path)
    im = _open_png(path)
    with im:
        if im.mode in ("P", "L"):
            return np.array(im, dtype=np.uint8)
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            a = np.array(im)
            if a.max(initial=0) > 255 or a.min(initial=0) < 0:
                raise FormatError(f"{path}: holds values above 255; a class map needs ids 0..255 "
                                  "(is this an instance map?)")
            return a.astype(np.uint8)
        if im.mode in ("RGB", "RGBA"):
            if palette is None:
                raise FormatError(f"{path}: is a colour (RGB) mask; give the label colours (a label file "
                                  "with #rrggbb colours) to decode it, or save it as a palette/grayscale PNG")
            return colors_to_ids(np.array(im.convert("RGB")), palette, str(path))
        raise FormatError(f"{path}: unsupported mask mode {im.mode}; use a palette or grayscale PNG")


def colors_to_ids(rgb: np.ndarray, palette: np.ndarray, source: str = "mask") -> np.ndarray:
    pal = np.asarray(palette, np.uint8).reshape(-1, 3)
    keys = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    pal_keys = (pal[:, 0].astype(np.int32) << 16) | (pal[:, 1].astype(np.int32) << 8) | pal[:, 2]
    lut = {}
    for i, k in enumerate(pal_keys.tolist()):
        lut.setdefault(k, i)
    uniq, inverse = np.unique(keys, return_inverse=True)
    ids = np.empty(len(uniq), np.uint8)
    for j, k in enumerate(uniq.tolist()):
        if k not in lut:
            raise FormatError(f"{source}: colour #{k:06x} is not a label colour; add it to the label file")
        ids[j] = lut[k]
    return ids[inverse].reshape(keys.shape)


def encode_instance_png(instance_map: np.ndarray, source: str = "instance map") -> bytes:
    a = np.asarray(instance_map)
    if a.ndim != 2:
        raise FormatError(f"{source}: an instance map must be 2-D")
    if a.size and (a.min() < 0 or a.max() > 65535):
        raise FormatError(f"{source}: instance ids must be 0..65535 to be saved as a 16-bit PNG")
    ok, buf = cv2.imencode(".png", a.astype(np.uint16))
    if not ok:
        raise FormatError(f"{source}: could not encode the instance map as PNG")
    return buf.tobytes()


def read_instance_png(path: str | os.PathLike) -> np.ndarray:
    path = Path(path)
    with open_image(path, FormatError, "instance map") as im:  # the header: size within the pixel limit
        check_pixel_limit(path, im.size[0], im.size[1], error=FormatError)
    a = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_UNCHANGED)
    if a is None:
        raise FormatError(f"{path}: not a readable PNG (corrupt or truncated)")
    if a.ndim != 2 or a.dtype not in (np.uint8, np.uint16):
        raise FormatError(f"{path}: an instance map must be a single-channel 8- or 16-bit PNG")
    return a.astype(np.int32)


def encode_mask_png(mask: np.ndarray) -> bytes:
    im = Image.fromarray(np.asarray(mask, bool))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def read_mask_png(path: str | os.PathLike) -> np.ndarray:
    path = Path(path)
    im = _open_png(path)
    with im:
        return np.array(im.convert("L")) > 0
