"""Done means: canvas-style drawings of MNIST test digits (any size, anywhere, three pixel
formats) are read within one point of the model's MNIST test accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.images import decode_ink
from backend.preprocess import normalise_ink
from backend.runtime import LiteRTClassifier
from tests.conftest import MODEL_DIR
from tests.drawings import PIXEL_FORMATS, canvas_drawing, encode, to_image

pytestmark = pytest.mark.slow


def test_canvas_drawings_within_one_point_of_test_accuracy(mnist_test_set):
    images, labels = mnist_test_set
    classifier = LiteRTClassifier(MODEL_DIR / "model.tflite")
    reference = json.loads((MODEL_DIR / "metadata.json").read_text())["test_accuracy"]
    rng = np.random.default_rng(2024)
    correct = {f: 0 for f in PIXEL_FORMATS}
    seen = {f: 0 for f in PIXEL_FORMATS}
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        pixel_format = PIXEL_FORMATS[index % 3]
        picture = to_image(canvas_drawing(image, rng), pixel_format)
        # Through the same decoding as the API: PNG for canvases, JPEG for the photo format.
        data = encode(picture, "JPEG", quality=90) if pixel_format == "rgb-dark-on-light" \
            else encode(picture)
        probabilities = classifier.predict(normalise_ink(decode_ink(data, 2048)))
        correct[pixel_format] += int(np.argmax(probabilities) == label)
        seen[pixel_format] += 1
    accuracy = {f: correct[f] / seen[f] for f in PIXEL_FORMATS}
    overall = sum(correct.values()) / len(labels)
    print(f"\ncanvas accuracy {overall:.4f} (test set {reference:.4f}):",
          {f: round(a, 4) for f, a in accuracy.items()})
    assert overall >= reference - 0.01
    for pixel_format, value in accuracy.items():
        assert value >= reference - 0.01, pixel_format
