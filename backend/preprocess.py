"""Turning a drawing into the model's input: the contract every tier must follow.

MNIST digits are white on black, their ink cropped and scaled so that the longer side is 20 px
(anti-aliased), placed in a 28x28 frame and shifted so that the centre of mass sits at pixel
(14, 14). A canvas drawing only reads well if it goes through the same steps, so:

    pixels -> one uint8 channel (alpha of a transparent canvas, else luminance)
           -> box-reduce to at most WORK_PIXELS -> ink (0..1) -> crop to ink
           -> longest side 20 px -> pad to 28x28 -> centre of mass to (14, 14)
           -> model input (28x28 float32, 0..1)

The reduction bounds the cost of every later step whatever the upload's size: a 2048x2048
photo is worked on at 256x256, and a 280x280 canvas at 140x140 (still 7x the model's 20 px).
Full-resolution pixels are only ever touched as uint8; floats exist at the working size.

frontend/static/js/preprocess.js implements the same steps for the in-browser mode;
tests/vectors/preprocess.json holds shared test vectors that keep the two equal. Change
both, and regenerate the vectors (scripts/make_preprocess_vectors.py), or neither.
"""

from __future__ import annotations

import math

import numpy as np
from cachetools import LRUCache, cached
from PIL import Image

FRAME = 28  # model input side
BOX = 20  # longest side of the digit inside the frame
CENTRE = 14.0  # where MNIST puts the centre of mass (pixel index; measured mean 14.0 ± 0.3)
MIN_CONTRAST = 0.1  # weaker than this everywhere: nothing was drawn
NOISE_FLOOR = 0.1  # ink below this (after normalising) is background noise (JPEG, paper)
WORK_PIXELS = 256 * 256  # the most pixels preprocessing works on (after box reduction)
WEIGHTS_CACHE_BYTES = 4 * 1024 * 1024  # resampling matrices kept per process
EMPTY_MESSAGE = "the drawing is empty: draw a digit first"

ALPHA, LUMINANCE = "alpha", "luminance"


class EmptyDrawing(ValueError):
    """The image holds no ink: there is no digit to read."""

    def __init__(self, message: str = EMPTY_MESSAGE) -> None:
        super().__init__(message)


def ink_bounds(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), inclusive, of the non-zero pixels; None if there are none."""
    rows = np.flatnonzero(image.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(image.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


# --- pixels -> one channel -----------------------------------------------------------------

def ink_channel(image: Image.Image) -> tuple[np.ndarray, str]:
    """A decoded image -> the (H, W) uint8 channel that holds the ink, and which one it is.

    A canvas with any transparency is read by its alpha channel (what the drawing covers,
    whatever its colour); an opaque image by its luminance (ITU-R 601 luma in Pillow's
    fixed-point arithmetic, which the JS twin reproduces). Only this one channel is ever
    copied out of the image: never a full RGBA or float array of an upload.
    """
    if image.mode not in ("RGBA", "LA", "RGB", "L"):
        image = image.convert("RGBA")  # palette (maybe with transparency), 16-bit, 1-bit, ...
    if "A" in image.getbands():
        alpha = np.asarray(image.getchannel("A"))
        if alpha.min() < 255:
            return alpha, ALPHA
    if image.mode == "LA":
        return np.asarray(image.getchannel("L")), LUMINANCE
    return np.asarray(image.convert("L")), LUMINANCE


# --- the working size -----------------------------------------------------------------------

def reduction_factor(height: int, width: int, work_pixels: int = WORK_PIXELS) -> int:
    """The smallest power of two f with ceil(h/f) * ceil(w/f) <= work_pixels.

    Powers of two, because JPEG decoders scale by 1/2, 1/4 and 1/8 for free while decoding.
    """
    factor = 1
    while math.ceil(height / factor) * math.ceil(width / factor) > work_pixels:
        factor *= 2
    return factor


def box_reduce(channel: np.ndarray, factor: int) -> np.ndarray:
    """(H, W) uint8 -> (ceil(H/f), ceil(W/f)) float32: the mean of each f x f block.

    Blocks at the right and bottom edges average the pixels they have. The sums are exact
    integers, so the browser's twin reproduces the result exactly.
    """
    if factor == 1:
        return channel.astype(np.float32)
    height, width = channel.shape
    rows, cols = -(-height // factor), -(-width // factor)
    whole_blocks = height % factor == 0 and width % factor == 0
    if not whole_blocks:  # zero-pad to whole blocks; the counts below stay the real ones
        padded = np.zeros((rows * factor, cols * factor), np.uint8)
        padded[:height, :width] = channel
        channel = padded
    # f strided adds per axis: a few passes in C (numpy's reduceat and 4-D reshape sums are
    # ~20x slower on these shapes); uint16 holds 255 x 16 x 16.
    accumulator = np.uint16 if factor <= 16 else np.uint32
    sums = channel[0::factor].astype(accumulator)
    for offset in range(1, factor):
        sums += channel[offset::factor]
    block_sums = sums[:, 0::factor].copy()
    for offset in range(1, factor):
        block_sums += sums[:, offset::factor]
    if whole_blocks:  # dividing by a power of two is exact in float32
        return block_sums.astype(np.float32) * np.float32(1 / (factor * factor))
    row_counts = np.minimum(factor, height - np.arange(rows) * factor)
    col_counts = np.minimum(factor, width - np.arange(cols) * factor)
    return (block_sums / np.outer(row_counts, col_counts)).astype(np.float32)


# --- channel -> ink -------------------------------------------------------------------------

def ink_from_channel(level: np.ndarray, kind: str) -> np.ndarray:
    """(H, W) channel levels 0..255 (float32, at the working size) -> ink in 0..1.

    Alpha is ink as it is. Luminance gets its polarity from the border: a light border means
    dark ink on light paper, and is inverted. The strongest ink becomes 1, ink below
    NOISE_FLOOR of it becomes 0, and an image without MIN_CONTRAST anywhere is EmptyDrawing.
    """
    if kind == ALPHA:
        ink = level
    elif kind == LUMINANCE:
        background = np.float32(np.median(_border(level)))
        ink = background - level if background > 127.5 else level - background
        ink = np.maximum(ink, np.float32(0))
    else:
        raise ValueError(f"unknown channel kind {kind!r}")
    contrast = float(ink.max())
    if contrast < MIN_CONTRAST * 255:
        raise EmptyDrawing()
    ink = ink / np.float32(contrast)
    ink[ink < NOISE_FLOOR] = 0
    return ink


def _border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def working_ink(channel: np.ndarray, kind: str, factor: int | None = None) -> np.ndarray:
    """A full-size uint8 channel -> ink at the working size (factor: the reduction still due)."""
    if factor is None:
        factor = reduction_factor(*channel.shape)
    return ink_from_channel(box_reduce(channel, factor), kind)


# --- ink -> model input ---------------------------------------------------------------------

def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The bounding box of the ink (any value > 0)."""
    bounds = ink_bounds(ink)
    if bounds is None:
        raise EmptyDrawing()
    top, bottom, left, right = bounds
    return ink[top : bottom + 1, left : right + 1]


def round_half_up(value: float) -> int:
    """Rounding that JavaScript's Math.round reproduces exactly (Python's round() does not)."""
    return math.floor(value + 0.5)


# Pure function of two sizes, and drawings repeat sizes: cached, up to a size in bytes (an
# entry count would let odd-sized requests pin hundreds of MB).
@cached(LRUCache(maxsize=WEIGHTS_CACHE_BYTES, getsizeof=lambda weights: weights.nbytes))
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
    weights = weights.astype(np.float32)
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
    out = np.zeros((frame, frame), dtype=ink.dtype)
    top, left = (frame - height) // 2, (frame - width) // 2
    out[top : top + height, left : left + width] = ink
    return out


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    image = image.astype(np.float64)  # 28x28: exact enough to round like the JS twin
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
    top, bottom, left, right = ink_bounds(image)
    dy = _clamp(whole_pixel_shift(centre - cy), -top, frame - 1 - bottom)
    dx = _clamp(whole_pixel_shift(centre - cx), -left, frame - 1 - right)
    out = np.zeros_like(image)
    out[max(dy, 0) : frame + min(dy, 0), max(dx, 0) : frame + min(dx, 0)] = image[
        max(-dy, 0) : frame + min(-dy, 0), max(-dx, 0) : frame + min(-dx, 0)
    ]
    return out


def whole_pixel_shift(offset: float) -> int:
    """The offset rounded to whole pixels, half up, after snapping it to 1e-6 px.

    A symmetric drawing has its centre of mass exactly half-way between pixels; float32
    resampling leaves it 1e-8 px to either side depending on the BLAS kernel, which would make
    the shift machine-dependent. The JS twin snaps the same way.
    """
    return round_half_up(round(offset, 6))


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def normalise_ink(ink: np.ndarray) -> np.ndarray:
    """Ink of any size -> the (28, 28) float32 model input, 0..1."""
    digit = scale_to_box(crop_to_ink(ink))
    framed = centre_by_mass(pad_to_frame(digit))
    return np.clip(framed, 0.0, 1.0).astype(np.float32)


def ink_from_rgba(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 pixels (a canvas's ImageData) -> ink at the working size."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected (H, W, 4) RGBA pixels, got {rgba.shape}")
    return working_ink(*ink_channel(Image.fromarray(np.ascontiguousarray(rgba), "RGBA")))


def preprocess_rgba(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 drawing -> (28, 28) float32 model input."""
    return normalise_ink(ink_from_rgba(rgba))
