"""The served model: loaded once per worker (optionally in the background), then warmed up."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
from flask import Flask, current_app

from backend.runtime import Classifier, check_runtime, load_classifier, load_metadata

log = logging.getLogger(__name__)


class ModelState:
    """Holds the classifier and its metadata; ``ready`` only after a warm-up prediction ran."""

    def __init__(self, model_dir: Path, runtime: str) -> None:
        self.model_dir = model_dir
        self.runtime = check_runtime(runtime)
        self.classifier: Classifier | None = None
        self.metadata: dict = {}
        self.error: str | None = None  # for the log; may hold file paths
        self.error_kind: str | None = None  # for clients: the exception's class only
        self.load_seconds: float | None = None
        self._ready = threading.Event()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def identity(self) -> dict:
        return {"name": self.metadata.get("name"), "version": self.metadata.get("version")}

    def load(self) -> None:
        """Load and warm up; a failure is kept in ``error`` (and /ready says so)."""
        started = time.perf_counter()
        try:
            metadata = load_metadata(self.model_dir)
            classifier = load_classifier(self.model_dir, self.runtime)
            probabilities = classifier.predict(np.zeros((28, 28), dtype=np.float32))
            if probabilities.shape != (10,):
                raise ValueError(f"model returned shape {probabilities.shape}, expected (10,)")
        except Exception as exc:  # any failure must surface in /ready, not kill the worker
            self.error = f"{type(exc).__name__}: {exc}"
            self.error_kind = type(exc).__name__
            log.exception("loading the model from %s failed", self.model_dir)
            return
        self.metadata, self.classifier = metadata, classifier
        self.load_seconds = time.perf_counter() - started
        self._ready.set()
        log.info("model %s %s ready (%s runtime, %.2f s)", metadata.get("name"),
                 metadata.get("version"), self.runtime, self.load_seconds)

    def init_app(self, app: Flask) -> None:
        app.extensions["mnist_model"] = self

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="model-loader", daemon=True)
        thread.start()
        return thread


def get_model_state() -> ModelState:
    """The current app's model (set by ModelState.init_app)."""
    return current_app.extensions["mnist_model"]
