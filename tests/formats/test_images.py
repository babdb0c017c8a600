import io

import numpy as np
import pytest
from PIL import Image

from segstudio.errors import ImageLoadError
from segstudio.formats.images import MAX_PIXELS_ENV, image_size, load_image


def _gradient(h=12, w=20):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 12, y * 20, (x + y) * 7], axis=2).astype(np.uint8)


def test_rgb_png_round_trip(tmp_path):
    a = _gradient()
    Image.fromarray(a).save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (12, 20, 3) and out.flags.c_contiguous
    assert np.array_equal(out, a)


def test_grayscale_and_palette_and_rgba(tmp_path):
    g = _gradient()[:, :, 0]
    Image.fromarray(g, "L").save(tmp_path / "g.png")
    out = load_image(tmp_path / "g.png")
    assert out.shape == (12, 20, 3) and np.array_equal(out[:, :, 1], g)
    rgba = np.dstack([_gradient(), np.full((12, 20), 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert np.array_equal(load_image(tmp_path / "a.png"), rgba[:, :, :3])
    p = Image.fromarray(_gradient()).quantize(16)
    p.save(tmp_path / "p.png")
    assert np.array_equal(load_image(tmp_path / "p.png"), np.asarray(p.convert("RGB")))


def test_16bit_grayscale_is_scaled_from_the_full_range(tmp_path):
    a = np.array([[0, 257, 65535, 32896]], np.uint16)
    Image.fromarray(a).save(tmp_path / "d.png")
    assert Image.open(tmp_path / "d.png").mode.startswith("I")
    out = load_image(tmp_path / "d.png")
    assert out[0, :, 0].tolist() == [0, 1, 255, 128]


def test_16bit_colour_tiff(tmp_path):
    import cv2

    a = np.zeros((6, 9, 3), np.uint16)
    a[..., 2] = 65535  # red in BGR order
    a[..., 1] = 257 * 10
    cv2.imwrite(str(tmp_path / "c.tif"), a)
    out = load_image(tmp_path / "c.tif")
    assert out.shape == (6, 9, 3)
    assert out[0, 0].tolist() == [255, 10, 0]


def test_float_tiff(tmp_path):
    a = np.linspace(0, 1, 20, dtype=np.float32).reshape(4, 5)
    Image.fromarray(a, "F").save(tmp_path / "f.tif")
    out = load_image(tmp_path / "f.tif")
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255


def test_cmyk_jpeg(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:, :8] = (255, 0, 0)
    rgb[:, 8:] = (0, 0, 255)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    out = load_image(tmp_path / "c.jpg").astype(int)
    assert out[8, 2, 0] > 200 and out[8, 2, 2] < 60
    assert out[8, 13, 2] > 200 and out[8, 13, 0] < 60


@pytest.mark.parametrize("orientation, expect", [(6, "rot270"), (3, "rot180"), (8, "rot90"), (2, "flip")])
def test_exif_orientation_is_applied(tmp_path, orientation, expect):
    a = _gradient(10, 16)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(a).save(tmp_path / "e.png", exif=exif.tobytes())
    out = load_image(tmp_path / "e.png")
    want = {"rot270": np.rot90(a, -1), "rot180": np.rot90(a, 2), "rot90": np.rot90(a, 1),
            "flip": a[:, ::-1]}[expect]
    assert out.shape == want.shape and np.array_equal(out, want)
    assert image_size(tmp_path / "e.png") == (want.shape[1], want.shape[0])


def test_truncated_corrupt_empty_and_non_images_name_the_file(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(buf, "JPEG")
    (tmp_path / "trunc.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("this is not an image")
    png = io.BytesIO()
    Image.fromarray(_gradient()).save(png, "PNG")
    data = bytearray(png.getvalue())
    data[60:90] = b"\x00" * 30  # break the IDAT data
    (tmp_path / "corrupt.png").write_bytes(bytes(data))
    for name, fragment in [("trunc.jpg", "truncated"), ("empty.png", "empty"), ("notes.png", "not an image"),
                           ("corrupt.png", "corrupt"), ("missing.png", "not found")]:
        with pytest.raises(ImageLoadError, match=fragment) as e:
            load_image(tmp_path / name)
        assert name in str(e.value)


def test_pixel_limit_is_configurable(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(ImageLoadError, match="above the limit") as e:
        load_image(tmp_path / "big.png", max_pixels_=5000)
    assert "big.png" in str(e.value) and MAX_PIXELS_ENV in str(e.value)
    monkeypatch.setenv(MAX_PIXELS_ENV, "9999")
    with pytest.raises(ImageLoadError):
        load_image(tmp_path / "big.png")
    monkeypatch.setenv(MAX_PIXELS_ENV, "10000")
    assert load_image(tmp_path / "big.png").shape == (100, 100, 3)
