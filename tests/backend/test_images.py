"""Decoding: every image mode is read exactly as its RGBA pixels would be."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backend.images import decode_image, image_ink
from backend.preprocess import ink_from_rgba
from tests.drawings import PIXEL_FORMATS, encode, to_image


def sample_ink() -> np.ndarray:
    ink = np.zeros((40, 30))
    ink[5:35, 12:18] = 1.0
    ink[5:9, 5:25] = 0.6
    return ink


def variants() -> dict[str, Image.Image]:
    base = {f: to_image(sample_ink(), f) for f in PIXEL_FORMATS}
    rgba = base["rgba-alpha"]
    return {
        **base,
        "LA": rgba.convert("LA"),
        "palette with transparency": rgba.convert("RGBA").quantize(16).convert("P"),
        "opaque RGBA": base["rgb-dark-on-light"].convert("RGBA"),
        "CMYK": base["rgb-dark-on-light"].convert("CMYK"),
    }


@pytest.mark.parametrize("name", list(variants()))
def test_image_ink_equals_ink_from_rgba(name):
    image = variants()[name]
    fmt = "JPEG" if image.mode == "CMYK" else "PNG"
    decoded = decode_image(encode(image, fmt), 2048)
    expected = ink_from_rgba(np.asarray(decoded.convert("RGBA")))
    assert np.array_equal(image_ink(decoded), expected)
    assert expected.max() == 1.0


def test_jpeg_exif_rotation_is_applied():
    tall = to_image(sample_ink(), "rgb-dark-on-light")  # 40 high, 30 wide
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    decoded = decode_image(encode(tall, "JPEG", exif=exif), 2048)
    assert decoded.size == (40, 30)
