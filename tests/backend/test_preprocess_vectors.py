"""The Python side of the shared preprocessing vectors (the browser side: tests/e2e)."""

from __future__ import annotations

import base64
import json
import zlib

import numpy as np
import pytest

from backend.preprocess import EmptyDrawing, preprocess_rgba
from tests.conftest import REPO_ROOT

VECTORS = json.loads((REPO_ROOT / "tests" / "vectors" / "preprocess.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_python_reproduces_the_shared_vectors(vector):
    pixels = np.frombuffer(zlib.decompress(base64.b64decode(vector["rgba_zlib"])),
                           np.uint8).reshape(vector["height"], vector["width"], 4)
    if vector["expected"] == "empty":
        with pytest.raises(EmptyDrawing):
            preprocess_rgba(pixels)
    else:
        assert np.abs(preprocess_rgba(pixels) - np.array(vector["expected"])).max() \
            <= VECTORS["tolerance"]


def test_the_vectors_cover_both_outcomes():
    outcomes = [v["expected"] == "empty" for v in VECTORS["vectors"]]
    assert any(outcomes) and not all(outcomes)


def test_the_vectors_cover_large_and_odd_sized_uploads():
    factors = {v["reduced_by"] for v in VECTORS["vectors"]}
    assert {1, 2, 4} <= factors
    assert any(v["width"] % v["reduced_by"] for v in VECTORS["vectors"])  # partial edge blocks
