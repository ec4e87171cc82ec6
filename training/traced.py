"""MNIST digits traced into pen strokes and painted as the page's drawing pad paints them.

A visitor draws with a round pen of one width (frontend/static/js/drawing-pad.js: 7 % of the
pad's height, rendered at half scale), so a drawn digit has even strokes, no pressure and
sharp anti-aliased edges, unlike MNIST's scanned pen strokes. Training reads some digits in
this style (TrainConfig.traced), and tests/zipcodes.py writes ZIP codes with it.
"""

from __future__ import annotations

import cv2
import numpy as np

from backend.preprocess import ink_from_rgba, normalise_ink
from training.strokes import skeleton, skeleton_strokes

STROKE_FRACTION_OF_HEIGHT = 0.07  # drawing-pad.js
RENDER_SCALE = 0.5  # drawing-pad.js: what it posts is half the CSS size
SUPERSAMPLE = 4  # paint 4x larger, then average down: the canvas's anti-aliasing
PAD_HEIGHT_CSS = 240  # the number pad (720x240); the digit pad is as tall on a laptop
HEIGHT_SHARE = (0.35, 0.9)  # of the pad's height: small and large handwriting
# The pen's width in the posted (half-scale) pixels.
PEN_WIDTH = PAD_HEIGHT_CSS * STROKE_FRACTION_OF_HEIGHT * RENDER_SCALE

Stroke = list[tuple[float, float]]


def unit_strokes(images: np.ndarray, labels: np.ndarray | None = None) -> list[list[Stroke]]:
    """The pen strokes of each uint8 (N, 28, 28) digit, in a unit box. With the digits'
    ``labels`` the tracer draws the loops each digit's writer drew (strokes.LOOPS)."""
    known = [None] * len(images) if labels is None else [int(label) for label in labels]
    return [skeleton_strokes(skeleton(image, label), (0.0, 0.0, 1.0, 1.0))
            for image, label in zip(images, known, strict=True)]


def paint(strokes: list[Stroke], size: tuple[int, int], line_width: float) -> np.ndarray:
    """Strokes in pixel coordinates -> alpha (H, W) uint8, round caps and joins, anti-aliased."""
    width, height = size
    big = np.zeros((height * SUPERSAMPLE, width * SUPERSAMPLE), np.uint8)
    thickness = max(1, round(line_width * SUPERSAMPLE))
    for stroke in strokes:
        points = np.round(np.asarray(stroke) * SUPERSAMPLE).astype(np.int32)
        if len(points) == 1:
            cv2.circle(big, tuple(points[0]), thickness // 2, 255, -1, cv2.LINE_AA)
        else:
            cv2.polylines(big, [points], False, 255, thickness, cv2.LINE_AA)
    return cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)


def canvas_rgba(alpha: np.ndarray) -> np.ndarray:
    """Painted alpha -> the (H, W, 4) pixels a canvas posts: black ink, transparent paper."""
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[..., 3] = alpha
    return rgba


def drawn_alpha(strokes: list[Stroke], digit_height_css: float) -> np.ndarray:
    """One digit's unit strokes written ``digit_height_css`` tall on the pad, as posted."""
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    scale = digit_height_css * RENDER_SCALE / max(max(ys) - min(ys), 1e-6)
    margin = PEN_WIDTH
    placed = [[((x - min(xs)) * scale + margin, (y - min(ys)) * scale + margin)
               for x, y in stroke] for stroke in strokes]
    size = (int((max(xs) - min(xs)) * scale + 2 * margin) + 1,
            int((max(ys) - min(ys)) * scale + 2 * margin) + 1)
    return paint(placed, size, PEN_WIDTH)


def traced_inputs(images: np.ndarray, seed: int, labels: np.ndarray | None = None
                  ) -> np.ndarray:
    """uint8 (N, 28, 28) digits (of ``labels``, if known) -> uint8 (N, 28, 28) model inputs of
    the same digits drawn with the page's pen at random sizes and read back by the backend's
    own preprocessing."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(images), 28, 28), np.uint8)
    for index, strokes in enumerate(unit_strokes(images, labels)):
        height = PAD_HEIGHT_CSS * rng.uniform(*HEIGHT_SHARE)
        if not strokes:  # nothing to trace (a blank image): keep it as it is
            out[index] = images[index]
            continue
        rgba = canvas_rgba(drawn_alpha(strokes, height))
        out[index] = np.round(normalise_ink(ink_from_rgba(rgba)) * 255).astype(np.uint8)
    return out


def lost_ink(original: np.ndarray, redrawn: np.ndarray, tolerance: float = 2.0) -> float:
    """How much of a digit its redrawing lost: the share of the original's ink (uint8 28x28,
    >= 128) lying farther than ``tolerance`` px from any ink of the redrawn one (>= 64).

    Both are normalised model inputs, so the pen's width moves ink by a pixel or two at most;
    a digit missing a part (a loop, a bar) loses far more. A measure of the tracer alone, which
    needs no model.
    """
    distance = cv2.distanceTransform((redrawn < 64).astype(np.uint8), cv2.DIST_L2, 5)
    ink = original >= 128
    return float(np.mean(distance[ink] > tolerance)) if ink.any() else 0.0
