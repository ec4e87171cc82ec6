"""ZIP codes written as a person writes them on the page: MNIST test digits as pen strokes.

Each digit is traced into strokes (training/traced.py), placed in its own slot of the number
pad with some jitter in size and position, and painted the way the page's drawing pad
renders what it posts: 720x240 CSS px at half scale (360x120), a round pen of 7% of the pad's
height, anti-aliased black ink on a transparent background. Disconnected parts of MNIST digits
(the bar of a 5, the halves of a 4) and stray specks become separate strokes, as they do for a
real user.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from training.traced import (
    PAD_HEIGHT_CSS,
    PEN_WIDTH,
    RENDER_SCALE,
    canvas_rgba,
    paint,
    unit_strokes,
)

PAD_CSS = (720, PAD_HEIGHT_CSS)  # the number pad, CSS px (frontend/static/css/app.css: 3:1)


class WrittenNumber(NamedTuple):
    drawing: np.ndarray  # RGBA (H, W, 4) uint8, as the number pad posts it
    number: str  # what was written
    picks: np.ndarray  # the indices of its digits in the MNIST test set


@functools.cache
def _unit_strokes(image_bytes: bytes, label: int) -> tuple:
    """The strokes of one 28x28 digit in a unit box (cached: a set reuses test digits)."""
    image = np.frombuffer(image_bytes, np.uint8).reshape(1, 28, 28)
    return tuple(tuple(stroke) for stroke in unit_strokes(image, np.array([label]))[0])


def zip_code_drawing(images: list[np.ndarray], labels: list[int], rng: np.random.Generator
                     ) -> np.ndarray:
    """The digits (of ``labels``: the tracer draws the loops their writers drew) written side
    by side on the number pad -> RGBA (H, W, 4) uint8 as posted."""
    pad_width, pad_height = PAD_CSS
    slot = pad_width / len(images)
    strokes = []
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        unit = _unit_strokes(np.ascontiguousarray(image, np.uint8).tobytes(), label)
        xs = [x for stroke in unit for x, _ in stroke]
        ys = [y for stroke in unit for _, y in stroke]
        # A person's digits vary in size and wander off the slot's centre a little, but
        # stay within their slot: 45-65 % of the pad's height, at most 75 % of the slot wide.
        scale = min(pad_height * rng.uniform(0.45, 0.65) / (max(ys) - min(ys)),
                    0.75 * slot / max(max(xs) - min(xs), 1e-6))
        centre_x = (i + 0.5 + rng.uniform(-0.05, 0.05)) * slot
        centre_y = pad_height * (0.5 + rng.uniform(-0.08, 0.08))
        middle_x, middle_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
        strokes += [[(centre_x + (x - middle_x) * scale, centre_y + (y - middle_y) * scale)
                     for x, y in stroke] for stroke in unit]
    size = (round(pad_width * RENDER_SCALE), round(pad_height * RENDER_SCALE))
    scaled = [[(x * RENDER_SCALE, y * RENDER_SCALE) for x, y in s] for s in strokes]
    return canvas_rgba(paint(scaled, size, PEN_WIDTH))


def zip_code_set(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0,
                 length: int = 5) -> list[WrittenNumber]:
    """``count`` numbers of ``length`` random MNIST test digits."""
    rng = np.random.default_rng(seed)
    drawings = []
    for _ in range(count):
        picks = rng.integers(0, len(images), length)
        digits = [int(labels[i]) for i in picks]
        drawing = zip_code_drawing([images[i] for i in picks], digits, rng)
        drawings.append(WrittenNumber(drawing, "".join(map(str, digits)), picks))
    return drawings
