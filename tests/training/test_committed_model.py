"""The committed models/cnn-mnist: its three formats agree and its metadata tells the truth."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from tests.conftest import MODEL_DIR
from training.data import to_model_input
from training.export import (
    EXPORT_FILES,
    PARITY_TOLERANCE,
    litert_probabilities,
    onnx_probabilities,
    weights_version,
)
from training.train import evaluate

TARGET_ACCURACY = 0.996


@pytest.fixture(scope="module")
def metadata() -> dict:
    return json.loads((MODEL_DIR / "metadata.json").read_text())


@pytest.fixture(scope="module")
def keras_model() -> keras.Model:
    return keras.saving.load_model(MODEL_DIR / "model.keras")


def test_all_export_files_are_committed():
    for name in EXPORT_FILES:
        assert (MODEL_DIR / name).is_file(), name


def test_litert_and_onnx_agree_with_keras_on_1000_test_images(keras_model, mnist_test_set):
    images = to_model_input(mnist_test_set[0][:1000])
    expected = np.asarray(keras_model(images, training=False))
    litert = litert_probabilities(MODEL_DIR / "model.tflite", images)
    onnx = onnx_probabilities(MODEL_DIR / "model.onnx", images)
    assert np.max(np.abs(litert - expected)) <= PARITY_TOLERANCE
    assert np.max(np.abs(onnx - expected)) <= PARITY_TOLERANCE
    # The three formats pick the same digit on every image.
    assert (litert.argmax(1) == expected.argmax(1)).all()
    assert (onnx.argmax(1) == expected.argmax(1)).all()


def test_metadata_accuracy_matches_a_fresh_evaluation(keras_model, metadata, mnist_test_set):
    images, labels = mnist_test_set
    fresh = evaluate(keras_model, images, labels)
    assert metadata["test_images"] == len(labels) == 10_000
    # Within one image: oneDNN's thread-dependent float rounding may flip a 50/50 case.
    assert abs(fresh.accuracy - metadata["test_accuracy"]) <= 1 / len(labels)
    assert fresh.loss == pytest.approx(metadata["test_loss"], abs=1e-3)
    assert fresh.accuracy >= TARGET_ACCURACY


def test_served_litert_model_reaches_the_target_on_the_full_test_set(mnist_test_set):
    images, labels = mnist_test_set
    probabilities = litert_probabilities(MODEL_DIR / "model.tflite", to_model_input(images))
    assert np.mean(probabilities.argmax(1) == labels) >= TARGET_ACCURACY


def test_version_is_the_hash_of_the_committed_weights(keras_model, metadata):
    assert metadata["version"] == weights_version(keras_model)


def test_metadata_documents_the_input_and_labels(metadata):
    assert metadata["name"] == "cnn-mnist"
    assert metadata["input"]["shape"] == [28, 28, 1]
    assert metadata["input"]["dtype"] == "float32"
    assert metadata["input"]["range"] == [0.0, 1.0]
    assert metadata["labels"] == [str(d) for d in range(10)]
    assert metadata["parameters"] == keras_model_parameters()
    for key in ("created_at", "framework_versions", "training_seconds", "epochs", "test_loss"):
        assert key in metadata


def keras_model_parameters() -> int:
    from training.model import build_model

    return build_model().count_params()
