"""Synthetic drawings for backend tests: MNIST digits rendered as canvases, photos and uploads."""

from __future__ import annotations

import base64

import numpy as np

from training.canvas import (  # noqa: F401  (re-exported for the suites)
    PIXEL_FORMATS,
    canvas_drawing,
    digit_ink,
    encode,
    place,
    scaled,
    to_image,
)


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


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
