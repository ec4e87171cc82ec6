"""Regenerate benchmarks/canvas-digit-280.png: the benchmark's 280x280 canvas payload.

What the original tutorial page (and most MNIST demos) posts: a 280x280 canvas with a 20 px
round black pen, as Chromium's canvas.toDataURL() encodes it. The digit is MNIST test digit 0
(the 7 of canvas-digit.png), traced into pen strokes (training/strokes.py) and drawn by Debian's
Chromium, so the PNG is byte for byte what a browser sends (Pillow's own encoder writes PNGs
that cost ~3x as much to decode, which would not measure what clients send).

    MNIST_NPZ=... .venv/bin/python -m benchmarks.make_canvas_280
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from training.strokes import digit_strokes

OUT = Path(__file__).resolve().parent / "canvas-digit-280.png"
SIDE, PEN = 280, 20

DRAW = """(args) => {
  const [strokes, side, pen] = args;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = side;
  const ctx = canvas.getContext('2d');
  Object.assign(ctx, {lineWidth: pen, lineCap: 'round', lineJoin: 'round', strokeStyle: '#000'});
  for (const stroke of strokes) {
    ctx.beginPath();
    ctx.moveTo(...stroke[0]);
    for (const point of stroke.slice(1)) ctx.lineTo(...point);
    ctx.stroke();
  }
  return canvas.toDataURL('image/png');
}"""


def main() -> None:
    with np.load(os.environ["MNIST_NPZ"]) as data:
        seven = data["x_test"][0]
    strokes = digit_strokes(seven, (0, 0, SIDE, SIDE))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        url = browser.new_page().evaluate(DRAW, [strokes, SIDE, PEN])
        browser.close()
    OUT.write_bytes(base64.b64decode(url.split(",", 1)[1]))
    print(f"wrote {OUT.name}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
