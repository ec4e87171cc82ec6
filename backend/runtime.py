"""Model runtimes: LiteRT (default, no TensorFlow) or Keras, on the file metadata.json names."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import numpy as np

RUNTIMES = ("litert", "keras")


def check_runtime(runtime: str) -> str:
    """The one check of MODEL_RUNTIME: ModelState runs it at app creation, before anything
    loads, and load_classifier for callers that load a model directly."""
    if runtime not in RUNTIMES:
        raise ValueError(f"MODEL_RUNTIME must be one of {RUNTIMES}, got {runtime!r}")
    return runtime


class Classifier(Protocol):
    runtime: str

    def predict(self, image: np.ndarray) -> np.ndarray:
        """(28, 28) float32 in 0..1 -> (classes,) float32 probabilities."""


class LiteRTClassifier:
    """The LiteRT interpreter on one thread: the fastest path on a small CPU (~0.3 ms/digit)."""

    runtime = "litert"

    def __init__(self, model_path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(model_path), num_threads=1)
        self._interpreter.allocate_tensors()
        (input_detail,) = self._interpreter.get_input_details()
        (output_detail,) = self._interpreter.get_output_details()
        self._input_index = input_detail["index"]
        self._output_index = output_detail["index"]
        # An interpreter is not thread-safe; gunicorn's sync workers never share one, but a
        # threaded server (tests, flask run) might.
        self._lock = threading.Lock()

    def predict(self, image: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(image, dtype=np.float32).reshape(1, 28, 28, 1)
        with self._lock:
            self._interpreter.set_tensor(self._input_index, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output_index)[0].copy()


class KerasClassifier:
    """model.keras under TensorFlow, through one traced tf.function (not model.predict)."""

    runtime = "keras"

    def __init__(self, model_path: Path) -> None:
        import keras
        import tensorflow as tf

        model = keras.saving.load_model(model_path, compile=False)
        self._call = tf.function(
            lambda batch: model(batch, training=False),
            input_signature=[tf.TensorSpec([1, 28, 28, 1], tf.float32)],
        )

    def predict(self, image: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(image, dtype=np.float32).reshape(1, 28, 28, 1)
        return np.asarray(self._call(batch))[0]


def load_classifier(version_dir: Path, runtime: str, model_file: str) -> Classifier:
    """The classifier for ``model_file`` (metadata.json's name for this runtime's file)."""
    path = version_dir / model_file
    if check_runtime(runtime) == "keras":
        return KerasClassifier(path)
    return LiteRTClassifier(path)
