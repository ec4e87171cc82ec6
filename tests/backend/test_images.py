"""Decoding: every image mode is read as its RGBA pixels would be, at the working size."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backend.images import decode_drawing, decode_ink
from backend.preprocess import WORK_PIXELS, box_reduce, ink_from_rgba, reduction_factor
from tests.drawings import PIXEL_FORMATS, encode, to_image


def sample_ink(scale: int = 1) -> np.ndarray:
    ink = np.zeros((40, 30))
    ink[5:35, 12:18] = 1.0
    ink[5:9, 5:25] = 0.6
    return np.kron(ink, np.ones((scale, scale)))


def variants(scale: int = 1) -> dict[str, Image.Image]:
    base = {f: to_image(sample_ink(scale), f) for f in PIXEL_FORMATS}
    rgba = base["rgba-alpha"]
    return {
        **base,
        "LA": rgba.convert("LA"),
        "palette with transparency": rgba.convert("RGBA").quantize(16).convert("P"),
        "opaque RGBA": base["rgb-dark-on-light"].convert("RGBA"),
        "1-bit": base["grey-light-on-dark"].convert("1"),
        "16-bit grey": base["grey-light-on-dark"].convert("I;16"),
    }


@pytest.mark.parametrize("scale", [1, 12])  # 40x30 and 480x360 (reduced by 4)
@pytest.mark.parametrize("name", list(variants()))
def test_every_png_mode_reads_as_its_rgba_pixels(name, scale):
    image = variants(scale)[name]
    data = encode(image)
    with Image.open(io.BytesIO(data)) as decoded:
        expected = ink_from_rgba(np.asarray(decoded.convert("RGBA")))
    ink = decode_ink(data, 2048)
    assert ink.dtype == np.float32
    assert np.array_equal(ink, expected)
    assert ink.max() == 1.0
    assert ink.size <= WORK_PIXELS


def test_jpeg_is_decoded_reduced_to_nearly_the_full_decode_reduced():
    image = to_image(sample_ink(16), "rgb-dark-on-light")  # 640x480: reduced by 4
    data = encode(image, "JPEG", quality=95)
    drawing = decode_drawing(data, 2048)
    assert drawing.scale == 4 and drawing.ink.shape == (160, 120)
    with Image.open(io.BytesIO(data)) as full:
        reference = ink_from_rgba(np.asarray(full.convert("RGBA")))
    assert np.abs(drawing.ink - reference).mean() < 0.02  # DCT scaling vs box average


def test_jpeg_exif_rotation_is_applied():
    tall = to_image(sample_ink(), "rgb-dark-on-light")  # 40 high, 30 wide
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    drawing = decode_drawing(encode(tall, "JPEG", exif=exif), 2048)
    assert drawing.size == (40, 30) and drawing.ink.shape == (30, 40)


@pytest.mark.parametrize(("height", "width", "factor"), [
    (138, 138, 1), (256, 256, 1), (280, 280, 2), (2048, 2048, 8), (2048, 32, 1),
    (2048, 33, 2), (1000, 700, 4), (1, 1, 1)])
def test_reduction_factor_is_the_smallest_power_of_two_within_the_budget(height, width, factor):
    assert reduction_factor(height, width) == factor
    reduced = -(-height // factor) * -(-width // factor)
    assert reduced <= WORK_PIXELS
    if factor > 1:
        assert -(-height // (factor // 2)) * -(-width // (factor // 2)) > WORK_PIXELS


def test_box_reduce_averages_blocks_and_partial_edge_blocks():
    channel = np.arange(5 * 7, dtype=np.uint8).reshape(5, 7)
    reduced = box_reduce(channel, 2)
    assert reduced.shape == (3, 4) and reduced.dtype == np.float32
    assert reduced[0, 0] == np.mean(channel[0:2, 0:2])
    assert reduced[2, 3] == channel[4, 6]  # a 1x1 corner block
    assert reduced[1, 3] == np.mean(channel[2:4, 6])  # a 2x1 edge block
    assert np.allclose(reduced, np.asarray(Image.fromarray(channel).reduce(2)), atol=0.5)
