"""Turning a drawing into the model's input: the contract every tier must follow.

MNIST digits are white on black, their ink cropped and scaled so that the longer side is 20 px
(anti-aliased), placed in a 28x28 frame and shifted so that the centre of mass sits at pixel
(14, 14). A canvas drawing only reads well if it goes through the same steps, so:

    pixels (RGBA) -> ink (0..1) -> crop to ink -> longest side 20 px -> pad to 28x28
                  -> centre of mass to (14, 14) -> model input (28x28 float32, 0..1)

frontend/static/js/preprocess.js implements the same steps for the in-browser mode;
tests/vectors/preprocess.json holds shared test vectors that keep the two equal. Change
both, and regenerate the vectors (scripts/make_preprocess_vectors.py), or neither.
"""

from __future__ import annotations

import functools
import math

import numpy as np

FRAME = 28  # model input side
BOX = 20  # longest side of the digit inside the frame
CENTRE = 14.0  # where MNIST puts the centre of mass (pixel index; measured mean 14.0 ± 0.3)
MIN_CONTRAST = 0.1  # weaker than this everywhere: nothing was drawn
NOISE_FLOOR = 0.1  # ink below this (after normalising) is background noise (JPEG, paper)


class EmptyDrawing(ValueError):
    """The image holds no ink: there is no digit to read."""


def ink_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 pixels -> (H, W) float ink in 0..1, 1 being the strongest stroke.

    A canvas with any transparency is read by its alpha channel (what the drawing covers,
    whatever its colour). Opaque images are read by luminance, with the polarity taken from
    the border: a light border means dark ink on light paper, and is inverted.
    Raises EmptyDrawing if nothing stands out from the background.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected (H, W, 4) RGBA pixels, got {rgba.shape}")
    alpha = rgba[..., 3]
    if alpha.min() < 255:
        return ink_from_alpha(alpha)
    return ink_from_rgb(rgba[..., :3])


def ink_from_alpha(alpha: np.ndarray) -> np.ndarray:
    """A transparent canvas: (H, W) uint8 alpha -> ink (the alpha branch of ink_from_rgba)."""
    ink = np.zeros(alpha.shape)
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        raise EmptyDrawing("the drawing is empty: draw a digit first")
    cols = np.flatnonzero(alpha.any(axis=0))
    # Only the box around non-zero alpha can hold ink, and a canvas is mostly empty: the
    # float work is done there alone (same values as over the whole image, a fraction of
    # the time).
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    ink[box] = _normalised(alpha[box].astype(np.float64) / 255.0)
    return ink


def ink_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """An opaque image: (H, W, 3) uint8 -> ink, polarity from the border (see ink_from_rgba)."""
    rgb = rgb.astype(np.float64)
    grey = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]) / 255.0
    background = float(np.median(_border(grey)))
    ink = background - grey if background > 0.5 else grey - background
    return _normalised(np.clip(ink, 0.0, 1.0))


def _normalised(ink: np.ndarray) -> np.ndarray:
    """Strongest ink -> 1; below MIN_CONTRAST nothing was drawn; faint noise -> 0."""
    contrast = float(ink.max())
    if contrast < MIN_CONTRAST:
        raise EmptyDrawing("the drawing is empty: draw a digit first")
    ink = ink / contrast
    ink[ink < NOISE_FLOOR] = 0.0
    return ink


def _border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The bounding box of the ink (any value > 0)."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise EmptyDrawing("the drawing is empty: draw a digit first")
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def round_half_up(value: float) -> int:
    """Rounding that JavaScript's Math.round reproduces exactly (Python's round() does not)."""
    return math.floor(value + 0.5)


@functools.lru_cache(maxsize=1024)  # pure function of two sizes; drawings repeat sizes often
def resample_weights(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) weights of an anti-aliased linear resampling (Pillow's BILINEAR).

    Each output pixel averages the input under a triangle filter; when shrinking, the filter
    widens with the scale so that every input pixel contributes (no aliasing of thin strokes).
    """
    scale = size_in / size_out
    stretch = max(scale, 1.0)
    centres = (np.arange(size_out) + 0.5) * scale
    inputs = np.arange(size_in) + 0.5
    distance = np.abs(inputs[np.newaxis, :] - centres[:, np.newaxis])
    weights = np.maximum(0.0, 1.0 - distance / stretch)
    weights /= weights.sum(axis=1, keepdims=True)
    weights.flags.writeable = False  # shared through the cache
    return weights


def scale_to_box(ink: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so that the longer side is ``box`` px, keeping the aspect ratio."""
    height, width = ink.shape
    longest = max(height, width)
    new_height = max(1, round_half_up(height * box / longest))
    new_width = max(1, round_half_up(width * box / longest))
    return resample_weights(height, new_height) @ ink @ resample_weights(width, new_width).T


def pad_to_frame(ink: np.ndarray, frame: int = FRAME) -> np.ndarray:
    """Place ``ink`` in the middle of a ``frame`` x ``frame`` black image."""
    height, width = ink.shape
    out = np.zeros((frame, frame))
    top, left = (frame - height) // 2, (frame - width) // 2
    out[top : top + height, left : left + width] = ink
    return out


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    rows = np.arange(image.shape[0])
    cols = np.arange(image.shape[1])
    return float(image.sum(axis=1) @ rows / total), float(image.sum(axis=0) @ cols / total)


def centre_by_mass(image: np.ndarray, centre: float = CENTRE) -> np.ndarray:
    """Shift by whole pixels so the centre of mass lands at (centre, centre).

    Whole pixels, as MNIST did (its centres of mass lie within ±0.5 px of 14): no extra blur.
    The shift is limited so that no ink leaves the frame.
    """
    frame = image.shape[0]
    cy, cx = centre_of_mass(image)
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    dy = _clamp(round_half_up(centre - cy), -int(rows[0]), frame - 1 - int(rows[-1]))
    dx = _clamp(round_half_up(centre - cx), -int(cols[0]), frame - 1 - int(cols[-1]))
    out = np.zeros_like(image)
    out[max(dy, 0) : frame + min(dy, 0), max(dx, 0) : frame + min(dx, 0)] = image[
        max(-dy, 0) : frame + min(-dy, 0), max(-dx, 0) : frame + min(-dx, 0)
    ]
    return out


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def normalise_ink(ink: np.ndarray) -> np.ndarray:
    """Ink of any size -> the (28, 28) float32 model input, 0..1."""
    digit = scale_to_box(crop_to_ink(ink))
    framed = centre_by_mass(pad_to_frame(digit))
    return np.clip(framed, 0.0, 1.0).astype(np.float32)


def preprocess_rgba(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 drawing -> (28, 28) float32 model input."""
    return normalise_ink(ink_from_rgba(rgba))
