"""ZIP codes written as a person writes them on the page: MNIST test digits as pen strokes.

Each digit is traced into strokes (training/traced.py), placed in its own slot of the number
pad with some jitter in size and position, and painted the way the page's drawing pad
renders what it posts: 720x240 CSS px at half scale (360x120), a round pen of 7% of the pad's
height, anti-aliased black ink on a transparent background. Disconnected parts of MNIST digits
(the bar of a 5, the halves of a 4) and stray specks become separate strokes, as they do for a
real user.

The same numbers can also be written with each digit's scan pasted into its slot instead of
its strokes (``scanned=True``): same digits, same slots, same sizes and jitter, but no tracer
and no pen, so the scans' own disconnected bars, broken 4s and specks are all that
segmentation faces. Comparing the two tells what the pen strokes cost from what
segmentation costs.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from training.canvas import digit_ink, scaled
from training.traced import (
    PAD_HEIGHT_CSS,
    PEN_WIDTH,
    RENDER_SCALE,
    canvas_rgba,
    paint,
    unit_strokes,
)

PAD_CSS = (720, PAD_HEIGHT_CSS)  # the number pad, CSS px (frontend/static/css/app.css: 3:1)
POSTED = (round(PAD_CSS[0] * RENDER_SCALE), round(PAD_CSS[1] * RENDER_SCALE))  # (W, H) px


class WrittenNumber(NamedTuple):
    drawing: np.ndarray  # RGBA (H, W, 4) uint8, as the number pad posts it
    number: str  # what was written
    picks: np.ndarray  # the indices of its digits in the MNIST test set


class Slot(NamedTuple):
    """Where one digit of a number goes on the pad (CSS px)."""

    centre_x: float
    centre_y: float
    height: float  # the digit's height, before it is shrunk to fit the slot's width
    max_width: float


def slots(count: int, rng: np.random.Generator) -> list[Slot]:
    """A person's digits vary in size and wander off the slot's centre a little, but stay
    within their slot: 45-65 % of the pad's height, at most 75 % of the slot wide."""
    pad_width, pad_height = PAD_CSS
    slot = pad_width / count
    out = []
    for i in range(count):
        height = pad_height * rng.uniform(0.45, 0.65)
        centre_x = (i + 0.5 + rng.uniform(-0.05, 0.05)) * slot
        centre_y = pad_height * (0.5 + rng.uniform(-0.08, 0.08))
        out.append(Slot(centre_x, centre_y, height, 0.75 * slot))
    return out


@functools.cache
def _unit_strokes(image_bytes: bytes, label: int) -> tuple:
    """The strokes of one 28x28 digit in a unit box (cached: a set reuses test digits)."""
    image = np.frombuffer(image_bytes, np.uint8).reshape(1, 28, 28)
    return tuple(tuple(stroke) for stroke in unit_strokes(image, np.array([label]))[0])


def pen_drawing(images: list[np.ndarray], labels: list[int], places: list[Slot]) -> np.ndarray:
    """The digits (of ``labels``: the tracer draws the loops their writers drew) written in
    their ``places`` with the page's pen -> RGBA (H, W, 4) uint8 as posted."""
    strokes = []
    for image, label, place in zip(images, labels, places, strict=True):
        unit = _unit_strokes(np.ascontiguousarray(image, np.uint8).tobytes(), label)
        xs = [x for stroke in unit for x, _ in stroke]
        ys = [y for stroke in unit for _, y in stroke]
        scale = min(place.height / (max(ys) - min(ys)),
                    place.max_width / max(max(xs) - min(xs), 1e-6))
        middle_x, middle_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
        strokes += [[(place.centre_x + (x - middle_x) * scale,
                      place.centre_y + (y - middle_y) * scale) for x, y in stroke]
                    for stroke in unit]
    scaled_strokes = [[(x * RENDER_SCALE, y * RENDER_SCALE) for x, y in s] for s in strokes]
    return canvas_rgba(paint(scaled_strokes, POSTED, PEN_WIDTH))


def scanned_drawing(images: list[np.ndarray], places: list[Slot]) -> np.ndarray:
    """The digits' scans (cropped to their ink, scaled as pen_drawing scales their strokes)
    pasted into their ``places`` -> RGBA (H, W, 4) uint8 as the pad would post them."""
    width, height = POSTED
    ink = np.zeros((height, width))
    for image, place in zip(images, places, strict=True):
        digit = digit_ink(image)
        scale = min(place.height / digit.shape[0], place.max_width / digit.shape[1])
        piece = scaled(digit, max(1, round(digit.shape[0] * scale * RENDER_SCALE)))
        top = round(place.centre_y * RENDER_SCALE - piece.shape[0] / 2)
        left = round(place.centre_x * RENDER_SCALE - piece.shape[1] / 2)
        region = ink[top : top + piece.shape[0], left : left + piece.shape[1]]
        np.maximum(region, piece[: region.shape[0], : region.shape[1]], out=region)
    return canvas_rgba(np.clip(ink * 255 + 0.5, 0, 255).astype(np.uint8))


def zip_code_set(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0,
                 length: int = 5, scanned: bool = False) -> list[WrittenNumber]:
    """``count`` numbers of ``length`` random MNIST test digits, written with the pen (or, the
    very same numbers in the very same places, as pasted scans)."""
    rng = np.random.default_rng(seed)
    drawings = []
    for _ in range(count):
        picks = rng.integers(0, len(images), length)
        digits = [int(labels[i]) for i in picks]
        places = slots(length, rng)
        chosen = [images[i] for i in picks]
        drawing = scanned_drawing(chosen, places) if scanned else pen_drawing(chosen, digits,
                                                                              places)
        drawings.append(WrittenNumber(drawing, "".join(map(str, digits)), picks))
    return drawings
