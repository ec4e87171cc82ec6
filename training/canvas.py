"""MNIST digits redrawn as canvas uploads: any size, anywhere, in the three pixel formats.

This is how the notebook measures what a visitor sees (and the tests reuse it): a test digit
is cropped to its ink, scaled to a random height, put at a random place on a random-sized
canvas, encoded as a browser or a phone would send it, and read back through the backend's
own decoding and normalisation.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from backend.config import DEFAULT_MAX_IMAGE_SIDE
from backend.images import decode_ink
from backend.preprocess import ink_bounds, normalise_ink

PIXEL_FORMATS = ("rgba-alpha", "rgb-dark-on-light", "grey-light-on-dark")


def digit_ink(image: np.ndarray) -> np.ndarray:
    """A uint8 28x28 MNIST digit cropped to its ink, as float 0..1."""
    top, bottom, left, right = ink_bounds(image)
    return image[top : bottom + 1, left : right + 1].astype(np.float64) / 255.0


def scaled(ink: np.ndarray, height: int) -> np.ndarray:
    """Resize ink (0..1) so that it is ``height`` px tall, keeping its aspect ratio."""
    width = max(1, round(ink.shape[1] * height / ink.shape[0]))
    img = Image.fromarray((ink * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC)
    return np.asarray(img).astype(np.float64) / 255.0


def place(ink: np.ndarray, canvas: tuple[int, int], top: int, left: int) -> np.ndarray:
    """Ink pasted into an empty (height, width) canvas at (top, left)."""
    out = np.zeros(canvas)
    h, w = ink.shape
    out[top : top + h, left : left + w] = np.maximum(out[top : top + h, left : left + w], ink)
    return out


def to_image(ink: np.ndarray, pixel_format: str) -> Image.Image:
    """Ink (0..1) as a Pillow image in one of PIXEL_FORMATS."""
    level = np.clip(ink * 255 + 0.5, 0, 255).astype(np.uint8)
    if pixel_format == "rgba-alpha":  # a browser canvas: black strokes, transparent elsewhere
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[..., 3] = level
        return Image.fromarray(rgba, "RGBA")
    if pixel_format == "rgb-dark-on-light":  # ink on paper
        return Image.fromarray(np.stack([255 - level] * 3, axis=-1), "RGB")
    if pixel_format == "grey-light-on-dark":  # chalk on a blackboard
        return Image.fromarray(level, "L")
    raise ValueError(pixel_format)


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def canvas_drawing(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit drawn at a random size anywhere on a random-sized canvas (ink 0..1)."""
    height = int(rng.integers(24, 260))
    ink = scaled(digit_ink(digit), height)
    canvas = (int(rng.integers(height + 2, height + 300)), int(rng.integers(ink.shape[1] + 2,
                                                                            ink.shape[1] + 300)))
    top = int(rng.integers(0, canvas[0] - ink.shape[0] + 1))
    left = int(rng.integers(0, canvas[1] - ink.shape[1] + 1))
    return place(ink, canvas, top, left)


def upload(ink: np.ndarray, pixel_format: str) -> bytes:
    """The bytes a client sends: PNG for canvases and boards, JPEG for the photo of paper."""
    picture = to_image(ink, pixel_format)
    if pixel_format == "rgb-dark-on-light":
        return encode(picture, "JPEG", quality=90)
    return encode(picture)


def redrawn_test_set(images: np.ndarray, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    """Every image redrawn as an upload (formats in turn) and read back as the backend does.

    Returns the (N, 28, 28) float32 model inputs and the (N,) index of each one's pixel format.
    """
    rng = np.random.default_rng(seed)
    inputs = np.zeros((len(images), 28, 28), np.float32)
    formats = np.arange(len(images)) % len(PIXEL_FORMATS)
    for index, image in enumerate(images):
        data = upload(canvas_drawing(image, rng), PIXEL_FORMATS[formats[index]])
        inputs[index] = normalise_ink(decode_ink(data, DEFAULT_MAX_IMAGE_SIDE))
    return inputs, formats
