"""Exporting ``cnn-mnist``: Keras, LiteRT and ONNX files, a parity check, and metadata.json."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import platform
import tempfile
import warnings
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path

import keras
import numpy as np

from training.data import to_model_input
from training.model import MODEL_NAME

KERAS_FILE = "model.keras"
LITERT_FILE = "model.tflite"
ONNX_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
EXPORT_FILES = (KERAS_FILE, LITERT_FILE, ONNX_FILE, METADATA_FILE)

PARITY_TOLERANCE = 1e-5
PARITY_IMAGES = 1000

INPUT_SPEC = {
    "name": "image",
    "shape": [28, 28, 1],
    "batch_dimension": "dynamic (N, 28, 28, 1)",
    "dtype": "float32",
    "range": [0.0, 1.0],
    "polarity": "white digit (1.0) on black background (0.0)",
    "normalisation": (
        "ink cropped to its bounding box, longest side scaled to 20 px with anti-aliasing, "
        "padded to 28x28, centre of mass shifted to the image centre"
    ),
}
LABELS = [str(digit) for digit in range(10)]
FRAMEWORK_PACKAGES = ("tensorflow", "keras", "numpy", "onnx", "tf2onnx", "ai-edge-litert")


class ParityError(RuntimeError):
    """The exported LiteRT or ONNX model disagrees with the Keras model."""


def weights_version(model: keras.Model) -> str:
    """A content hash of the weights: same weights, same version, whoever exports them."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight), dtype=np.float32)
        digest.update(weight.path.encode())
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]


def framework_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in FRAMEWORK_PACKAGES:
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def litert_probabilities(path: Path, images: np.ndarray) -> np.ndarray:
    """Run a .tflite model one image at a time, as the backend does."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    (input_detail,) = interpreter.get_input_details()
    (output_detail,) = interpreter.get_output_details()
    out = []
    for image in images:
        interpreter.set_tensor(input_detail["index"], image[np.newaxis])
        interpreter.invoke()
        out.append(interpreter.get_tensor(output_detail["index"])[0].copy())
    return np.stack(out)


def onnx_probabilities(path: Path, images: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    return session.run(None, {model_input.name: images})[0]


def _max_delta(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(got - expected)))


def check_parity(model: keras.Model, out_dir: Path, images: np.ndarray) -> dict[str, float]:
    """Max |Δprob| of the LiteRT and ONNX files against Keras; raises ParityError above 1e-5."""
    expected = keras.ops.convert_to_numpy(model(images, training=False))
    deltas = {
        "litert": _max_delta(litert_probabilities(out_dir / LITERT_FILE, images), expected),
        "onnx": _max_delta(onnx_probabilities(out_dir / ONNX_FILE, images), expected),
    }
    bad = {name: delta for name, delta in deltas.items() if not delta <= PARITY_TOLERANCE}
    if bad:
        raise ParityError(
            f"exported models disagree with Keras on {len(images)} test images: "
            f"max |Δprob| {bad} exceeds {PARITY_TOLERANCE}"
        )
    return deltas


@contextlib.contextmanager
def _quiet_converters():
    """Hide the converters' INFO lines and tf2onnx's numpy FutureWarning: nothing to act on."""
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        tf_logger.setLevel(level)


def export_model(
    model: keras.Model,
    out_dir: str | Path,
    *,
    parity_images: np.ndarray,
    test_accuracy: float,
    test_loss: float,
    test_images: int,
    training_seconds: float,
    epochs: int,
    training: dict | None = None,
    history: dict[str, list[float]] | None = None,
) -> dict:
    """Write the three model files and metadata.json into ``out_dir``; returns the metadata.

    Files are written to a temporary folder and moved in only after the parity check passes,
    so a failed export never leaves a half-updated model behind.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = to_model_input(parity_images[:PARITY_IMAGES])
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".export-") as tmp:
        staging = Path(tmp)
        model.save(staging / KERAS_FILE)
        with _quiet_converters():
            model.export(str(staging / LITERT_FILE), format="litert", verbose=False)
            model.export(str(staging / ONNX_FILE), format="onnx", verbose=False)
        parity = check_parity(model, staging, images)
        metadata = {
            "name": MODEL_NAME,
            "version": weights_version(model),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "framework_versions": framework_versions(),
            "parameters": int(model.count_params()),
            "test_accuracy": round(float(test_accuracy), 6),
            "test_loss": round(float(test_loss), 6),
            "test_images": int(test_images),
            "training_seconds": round(float(training_seconds), 1),
            "epochs": int(epochs),
            "input": INPUT_SPEC,
            "output": {"name": "probabilities", "shape": [10], "dtype": "float32"},
            "labels": LABELS,
            "files": {"keras": KERAS_FILE, "litert": LITERT_FILE, "onnx": ONNX_FILE},
            "parity": {"images": len(images), "max_abs_prob_delta": parity,
                       "tolerance": PARITY_TOLERANCE},
            "training": training or {},
            "history": history or {},
        }
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
        for name in EXPORT_FILES:
            (staging / name).replace(out_dir / name)
    return metadata
