"""Synthetic drawings for backend tests: MNIST digits rendered as canvases, photos and uploads."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from backend.preprocess import ink_bounds

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


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def canvas_drawing(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An MNIST digit drawn at a random size anywhere on a random-sized canvas (ink 0..1)."""
    height = int(rng.integers(24, 260))
    ink = scaled(digit_ink(digit), height)
    canvas = (int(rng.integers(height + 2, height + 300)), int(rng.integers(ink.shape[1] + 2,
                                                                            ink.shape[1] + 300)))
    top = int(rng.integers(0, canvas[0] - ink.shape[0] + 1))
    left = int(rng.integers(0, canvas[1] - ink.shape[1] + 1))
    return place(ink, canvas, top, left)


def number_drawing(digits: list[np.ndarray], rng: np.random.Generator, height: int = 120,
                   gap: tuple[int, int] = (8, 40)) -> tuple[np.ndarray, list[int]]:
    """Digits side by side at about the same height with random gaps and vertical jitter.

    Returns the ink and the left edge of each digit.
    """
    inks = [scaled(digit_ink(d), int(height * rng.uniform(0.8, 1.1))) for d in digits]
    margin = 20
    gaps = [int(rng.integers(*gap)) for _ in inks]
    width = margin * 2 + sum(i.shape[1] for i in inks) + sum(gaps)
    canvas = np.zeros((int(height * 1.1) + 2 * margin + 20, width))
    lefts, x = [], margin
    for ink, g in zip(inks, gaps, strict=True):
        top = margin + int(rng.integers(0, 20))
        canvas[top : top + ink.shape[0], x : x + ink.shape[1]] = np.maximum(
            canvas[top : top + ink.shape[0], x : x + ink.shape[1]], ink)
        lefts.append(x)
        x += ink.shape[1] + g
    return canvas, lefts
