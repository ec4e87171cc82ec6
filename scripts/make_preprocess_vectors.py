"""Regenerate tests/vectors/preprocess.json: shared test vectors for the preprocessing contract.

backend/preprocess.py (Python) and frontend/static/js/preprocess.js (browser) must both turn
each RGBA drawing here into the same 28x28 input (or both call it empty). Some are drawings
that are no digit at all (validation kinds of training/negatives.py): on those, the server's and
the in-browser model must also give the same answer (tests/e2e). Run this only when the
contract changes on purpose, then make the other implementation match:

    .venv/bin/python -m scripts.make_preprocess_vectors

Pixels are stored zlib-compressed (base64), so large and odd-sized drawings stay small.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import numpy as np

from backend.preprocess import EmptyDrawing, preprocess_rgba, reduction_factor
from tests.drawings import place, scaled, to_image
from training.negatives import star, word, zigzag

ROOT = Path(__file__).resolve().parent.parent

OUT = ROOT / "tests" / "vectors" / "preprocess.json"


def rgba(ink: np.ndarray, pixel_format: str) -> np.ndarray:
    return np.asarray(to_image(ink, pixel_format).convert("RGBA"))


def cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(28)
    seven = np.zeros((60, 50))
    seven[8:14, 6:44] = 1.0
    for row in range(14, 56):  # the diagonal, anti-aliased at its edges
        col = 44 - (row - 14) * 0.6
        seven[row, int(col) - 3 : int(col) + 3] = 1.0
        seven[row, int(col) - 4] = 0.4
    blob = np.zeros((90, 120))
    blob[50:55, 90:93] = 1.0
    wide = np.zeros((30, 100))
    wide[10:20, 5:95] = 0.7
    mnist_like = rng.random((28, 28)) * (rng.random((28, 28)) > 0.6)
    off_centre = np.zeros((90, 120))
    off_centre[3:31, 85:113] = mnist_like
    noisy = np.clip(np.kron(mnist_like, np.ones((2, 2))) + rng.normal(0, 0.03, (56, 56)), 0, 1)
    translucent = np.zeros((60, 50, 4), np.uint8)
    translucent[..., 3] = (seven * 140).astype(np.uint8)
    paper = np.full((60, 50, 3), 205, np.uint8)
    paper[seven > 0.5] = 90
    big_seven = scaled(seven, 230)  # the original tutorial's 280x280 canvas
    photo = np.full((701, 1001, 3), (235, 228, 215), np.uint8)  # warm paper, odd size
    photo_ink = place(scaled(seven, 520), (701, 1001), 90, 300) > 0.3
    photo[photo_ink] = (40, 60, 150)  # blue ballpoint
    shading = np.linspace(-12, 12, 1001)[np.newaxis, :, np.newaxis]  # uneven light, no noise:
    photo = np.clip(photo + shading, 0, 255).astype(np.uint8)  # the vector file stays small
    strip = np.zeros((40, 2048))
    strip[5:35, 1000:1025] = seven[::2, ::2]
    doodles = np.random.default_rng(11)
    return {
        "not a digit: a star on a canvas": rgba(star(doodles) / 255.0, "rgba-alpha"),
        "not a digit: a zigzag on a canvas": rgba(zigzag(doodles) / 255.0, "rgba-alpha"),
        "not a digit: a word, dark ink on white": rgba(word(doodles) / 255.0,
                                                       "rgb-dark-on-light"),
        "280x280 canvas, reduced by 2": rgba(place(big_seven, (280, 280), 25, 60), "rgba-alpha"),
        "odd 411x233 canvas, partial edge blocks": rgba(
            place(scaled(seven, 200), (233, 411), 20, 240), "rgba-alpha"),
        "1001x701 photo, blue ink on paper, reduced by 4": np.dstack(
            [photo, np.full((701, 1001), 255, np.uint8)]),
        "2048x40 strip, reduced by 2": rgba(strip, "rgba-alpha"),
        "seven on a transparent canvas": rgba(seven, "rgba-alpha"),
        "seven, dark ink on white": rgba(seven, "rgb-dark-on-light"),
        "seven, light ink on black": rgba(seven, "grey-light-on-dark"),
        "translucent pen": translucent,
        "pencil on grey paper": np.dstack([paper, np.full((60, 50), 255, np.uint8)]),
        "tiny mark on a big canvas": rgba(blob, "rgba-alpha"),
        "wide bar keeps its aspect": rgba(wide, "rgba-alpha"),
        "off-centre digit in a corner": rgba(off_centre, "rgba-alpha"),
        "noisy opaque scan": rgba(noisy, "grey-light-on-dark"),
        "1x1 dot": rgba(np.pad(np.ones((1, 1)), 4), "rgba-alpha"),
        "empty transparent canvas": np.zeros((40, 40, 4), np.uint8),
        "empty white page": np.full((40, 40, 4), 255, np.uint8),
    }


def main() -> None:
    vectors = []
    for name, pixels in cases().items():
        try:
            expected = np.round(preprocess_rgba(pixels).astype(np.float64), 7).tolist()
        except EmptyDrawing:
            expected = "empty"
        vectors.append({
            "name": name,
            "width": int(pixels.shape[1]),
            "height": int(pixels.shape[0]),
            "reduced_by": reduction_factor(*pixels.shape[:2]),
            "rgba_zlib": base64.b64encode(
                zlib.compress(np.ascontiguousarray(pixels, np.uint8).tobytes(), 9)).decode(),
            "expected": expected,
        })
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"tolerance": 1e-6, "vectors": vectors}) + "\n")
    print(f"wrote {len(vectors)} vectors to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
