"""Done means: canvas-style drawings of MNIST test digits (any size, anywhere, three pixel
formats) are read within one point of the model's MNIST test accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.contract import read_contract
from backend.runtime import LiteRTClassifier
from tests.conftest import MODEL_DIR
from training.canvas import PIXEL_FORMATS, redrawn_test_set

pytestmark = pytest.mark.slow


def test_canvas_drawings_within_one_point_of_test_accuracy(mnist_test_set):
    images, labels = mnist_test_set
    classifier = LiteRTClassifier(MODEL_DIR / read_contract(MODEL_DIR).file_for("litert"))
    reference = json.loads((MODEL_DIR / "metadata.json").read_text())["test_accuracy"]
    # Each digit redrawn as an upload and read back through the API's decoding (PNG for the
    # canvases, JPEG for the photo of paper), as the notebook's evaluation does.
    inputs, formats = redrawn_test_set(images, seed=2024)
    hits = np.array([np.argmax(classifier.predict(x)) == label
                     for x, label in zip(inputs, labels, strict=True)])
    accuracy = {f: float(hits[formats == i].mean()) for i, f in enumerate(PIXEL_FORMATS)}
    overall = float(hits.mean())
    print(f"\ncanvas accuracy {overall:.4f} (test set {reference:.4f}):",
          {f: round(a, 4) for f, a in accuracy.items()})
    assert overall >= reference - 0.01
    for pixel_format, value in accuracy.items():
        assert value >= reference - 0.01, pixel_format
