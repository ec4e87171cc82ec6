"""The Python side of the shared preprocessing vectors (the browser side: tests/e2e)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from backend.preprocess import EmptyDrawing, preprocess_rgba
from tests.conftest import REPO_ROOT

VECTORS = json.loads((REPO_ROOT / "tests" / "vectors" / "preprocess.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_python_reproduces_the_shared_vectors(vector):
    pixels = np.frombuffer(base64.b64decode(vector["rgba"]), np.uint8).reshape(
        vector["height"], vector["width"], 4)
    if vector["expected"] == "empty":
        with pytest.raises(EmptyDrawing):
            preprocess_rgba(pixels)
    else:
        assert np.abs(preprocess_rgba(pixels) - np.array(vector["expected"])).max() \
            <= VECTORS["tolerance"]


def test_the_vectors_cover_both_outcomes():
    outcomes = [v["expected"] == "empty" for v in VECTORS["vectors"]]
    assert any(outcomes) and not all(outcomes)
