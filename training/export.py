"""Exporting a trained model as a new version: Keras, LiteRT and ONNX files, a parity check,
and metadata.json (the model contract every tier reads), in the registry of backend/registry.py:

    <out>/registry.json             created with this version as production if absent
    <out>/<name>/<version>/         the three files and metadata.json; never overwritten
"""

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

from backend.preprocess import BOX, CENTRE, FRAME
from backend.registry import Registry, registry_path, write_registry
from training.corrections import Corrections
from training.data import Mnist, to_model_input
from training.model import LABELS, MODEL_NAME, NOT_A_DIGIT, with_temperature
from training.train import Evaluation, TrainResult

KERAS_FILE = "model.keras"
LITERT_FILE = "model.tflite"
ONNX_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
EXPORT_FILES = (KERAS_FILE, LITERT_FILE, ONNX_FILE, METADATA_FILE)

PARITY_TOLERANCE = 1e-5
PARITY_IMAGES = 1000

# The preprocessing constants come from the backend's module (the one place in Python); the
# backend and the page check them against this record when they load a version.
INPUT_SPEC = {
    "name": "image",
    "shape": [FRAME, FRAME, 1],
    "batch_dimension": f"dynamic (N, {FRAME}, {FRAME}, 1)",
    "dtype": "float32",
    "range": [0.0, 1.0],
    "polarity": "white digit (1.0) on black background (0.0)",
    "box": BOX,
    "centre_of_mass": CENTRE,
    "normalisation": (
        f"ink cropped to its bounding box, longest side scaled to {BOX} px with anti-aliasing, "
        f"padded to {FRAME}x{FRAME}, centre of mass shifted to pixel ({CENTRE:g}, {CENTRE:g})"
    ),
}
FRAMEWORK_PACKAGES = ("tensorflow", "keras", "numpy", "onnx", "tf2onnx", "ai-edge-litert")


class ParityError(RuntimeError):
    """The exported LiteRT or ONNX model disagrees with the Keras model."""


def weights_version(model: keras.Model) -> str:
    """A content hash of the weights (and temperature): same model, same version."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight), dtype=np.float32)
        digest.update(weight.path.encode())
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    # A model without a temperature layer was exported before calibration existed.
    with contextlib.suppress(ValueError):
        digest.update(repr(float(model.get_layer("temperature").get_config()["scale"])).encode())
    return digest.hexdigest()[:16]


def data_source(data: Mnist) -> str:
    """Where the data came from, without this machine's paths."""
    path, separator, subset = data.source.partition(" (")  # "<file> (first N)" for --limit
    return (Path(path).name if path.startswith("/") else path) + separator + subset


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


class ExportError(RuntimeError):
    """The export would overwrite an existing version."""


def export_model(result: TrainResult, data: Mnist, out_root: str | Path, *,
                 test: Evaluation, evaluation: dict | None = None,
                 corrections: Corrections | None = None) -> dict:
    """Write the calibrated model as a new version under ``out_root``; returns its metadata.

    ``test``: the calibrated model's MNIST test evaluation; ``evaluation``: the report of
    training/evaluation.py. Files are written to a staging folder and moved in only after the
    parity check passes, so a failed export leaves nothing behind; an existing version folder
    is never written to. The first export also creates registry.json (this version is then
    production); later ones only add their folder: `python -m backend.versions canary` serves
    them.
    """
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    model = with_temperature(result.model, result.temperature)
    version = weights_version(model)
    target = out_root / MODEL_NAME / version
    if target.exists():
        raise ExportError(f"version {version} is already exported in {target}")
    target.parent.mkdir(exist_ok=True)
    images = to_model_input(data.x_test[:PARITY_IMAGES])
    config = result.config
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-",
                                     ignore_cleanup_errors=True) as tmp:
        staging = Path(tmp)
        model.save(staging / KERAS_FILE)
        with _quiet_converters():
            model.export(str(staging / LITERT_FILE), format="litert", verbose=False)
            model.export(str(staging / ONNX_FILE), format="onnx", verbose=False)
        parity = check_parity(model, staging, images)
        metadata = {
            "name": MODEL_NAME,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "framework_versions": framework_versions(),
            "parameters": int(model.count_params()),
            "test_accuracy": round(float(test.accuracy), 6),
            "test_loss": round(float(test.loss), 6),
            "test_images": len(test.predictions),
            "training_seconds": round(float(result.seconds), 1),
            "epochs": int(config.epochs),
            "input": INPUT_SPEC,
            "output": {"name": "probabilities", "shape": [len(LABELS)], "dtype": "float32"},
            "labels": LABELS,
            "not_a_digit_label": NOT_A_DIGIT,
            "files": {"keras": KERAS_FILE, "litert": LITERT_FILE, "onnx": ONNX_FILE},
            "calibration": {"method": "temperature scaling", "temperature":
                            round(float(result.temperature), 6),
                            "fitted_on": "the validation split (digits and negatives)"},
            "evaluation": evaluation or {},
            "parity": {"images": len(images), "max_abs_prob_delta": parity,
                       "tolerance": PARITY_TOLERANCE},
            "training": {"data": data_source(data), "config": config.as_dict(),
                         "corrections": (corrections.provenance(config.corrections_weight)
                                         if corrections else None)},
            "history": result.history,
        }
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
        for path in staging.iterdir():
            path.chmod(0o644)
        staging.chmod(0o755)
        staging.rename(target)
    if not registry_path(out_root).exists():
        write_registry(out_root, Registry(MODEL_NAME, version))
    return metadata
