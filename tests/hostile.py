"""Small, well-formed requests that used to take the backend down, made on the fly.

Shared by the regression tests (tests/backend/test_hostile.py) and the hostile-mix benchmark
(benchmarks/hostile.py). Nothing here is committed as a binary.
"""

from __future__ import annotations

import base64
import io
import json
import zlib

import numpy as np
from PIL import Image


def _digit_like(side: int) -> np.ndarray:
    """A white page with one dark stroke: a plausible photo to hide the attack in."""
    page = np.full((side, side), 250, np.uint8)
    page[side // 4 : 3 * side // 4, side // 2 - side // 40 : side // 2 + side // 40] = 20
    return page


def scan_bomb_jpeg(side: int = 2048, repeats: int = 1500) -> bytes:
    """A progressive JPEG whose last scan is repeated ``repeats`` times (libjpeg only warns).

    Tens of KB; decoding costs (scans x pixels): seconds at 2048x2048 with 1,500 scans.
    """
    buffer = io.BytesIO()
    Image.fromarray(_digit_like(side)).save(buffer, "JPEG", quality=75, progressive=True)
    data = buffer.getvalue()
    assert data.endswith(b"\xff\xd9")
    last_scan = data[data.rindex(b"\xff\xda") : -2]
    return data[:-2] + last_scan * repeats + b"\xff\xd9"


def png(pixels: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, "PNG")
    return buffer.getvalue()


def dot_grid_png(width: int = 360, height: int = 120, step: int = 3) -> bytes:
    """A canvas (transparent) of thousands of separate one-pixel dots: a component bomb."""
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[::step, ::step, 3] = 255
    return png(rgba, "RGBA")


def noise_png(side: int = 2048, density: float = 0.05, seed: int = 0) -> bytes:
    """Sparse salt noise on black, ``side`` x ``side``: large, cheap to send, no digit in it."""
    rng = np.random.default_rng(seed)
    grey = ((rng.random((side, side)) < density) * 255).astype(np.uint8)
    return png(grey, "L")


def deep_json(depth: int = 20_000) -> bytes:
    """{"image": [[[[ ... ]]]]}: nested far past the parser's recursion limit."""
    return b'{"image": ' + b"[" * depth + b"]" * depth + b"}"


def text_chunk_bomb_png(chunks: int = 40, chunk_bytes: int = 1_000_000) -> bytes:
    """A valid 8x8 PNG carrying ``chunks`` zTXt chunks of ~1 MB of text each, compressed to
    ~1 KB each: Pillow's defaults would inflate up to 64 MB of it while opening the file."""
    base = png(np.zeros((8, 8), np.uint8), "L")
    text = zlib.compress(b"a" * chunk_bytes, 9)
    body = b"".join(_chunk(b"zTXt", b"comment\x00\x00" + text) for _ in range(chunks))
    return base[:33] + body + base[33:]  # after the signature (8) and IHDR (25)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")


def as_json(data: bytes, media_type: str = "image/png") -> bytes:
    """``data`` as the JSON body the page sends: {"image": "<data URL>"}."""
    return json.dumps({"image": f"data:{media_type};base64,"
                                f"{base64.b64encode(data).decode()}"}).encode()
