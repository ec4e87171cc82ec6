"""Visitors' corrections as training data: the npz of `python -m backend.feedback export`.

It holds MNIST's four arrays (so training/data.py's checks apply): x_train/y_train are the
corrections to learn from, x_test/y_test those held out, which the new model is scored on and
never taught. Their provenance says what the served model read at the time (predicted_*), so
the report can put the new model's accuracy beside the old one's on the same drawings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from training.data import load_npz, to_model_input

NOT_A_DIGIT = -1  # predicted_* for a reading of "not a digit"


@dataclass(frozen=True)
class Corrections:
    taught: tuple[np.ndarray, np.ndarray]  # uint8 (N, 28, 28), labels 0-9
    held_out: tuple[np.ndarray, np.ndarray]
    predicted_taught: np.ndarray | None  # what the served model read (-1: not a digit)
    predicted_held_out: np.ndarray | None
    file: str  # the file's name, never a machine path
    sha256: str

    def provenance(self, weight: int) -> dict:
        return {"file": self.file, "sha256": self.sha256, "taught": len(self.taught[1]),
                "held_out": len(self.held_out[1]), "weight": weight}


def load_corrections(path: str | Path) -> Corrections:
    path = Path(path)
    arrays = load_npz(path)  # raises DatasetError naming the file and what is wrong
    with np.load(path, allow_pickle=False) as npz:
        predicted = {side: npz[f"predicted_{side}"] if f"predicted_{side}" in npz.files
                     else None for side in ("train", "test")}
    return Corrections(
        taught=(arrays.x_train, arrays.y_train),
        held_out=(arrays.x_test, arrays.y_test),
        predicted_taught=predicted["train"],
        predicted_held_out=predicted["test"],
        file=path.name,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


def with_corrections(images: np.ndarray, labels: np.ndarray, corrections: Corrections | None,
                     weight: int) -> tuple[np.ndarray, np.ndarray]:
    """The training arrays plus each taught correction ``weight`` times (a few hundred
    corrections beside 60,000 MNIST digits would otherwise hardly move the model)."""
    if corrections is None or not len(corrections.taught[1]) or weight <= 0:
        return images, labels
    x, y = corrections.taught
    return (np.concatenate([images, np.repeat(x, weight, axis=0)]),
            np.concatenate([labels.astype(np.int64), np.repeat(y.astype(np.int64), weight)]))


def corrections_report(model: keras.Model, corrections: Corrections, weight: int) -> dict:
    """Accuracy of ``model`` on the corrections it was taught and on those held out, beside
    the accuracy of the model that read them in production."""
    sides = {"taught": (corrections.taught, corrections.predicted_taught),
             "held_out": (corrections.held_out, corrections.predicted_held_out)}
    result = corrections.provenance(weight)
    for name, ((images, labels), before) in sides.items():
        entry = {"images": len(labels), "accuracy": None, "accuracy_when_collected": None}
        if len(labels):
            probabilities = model.predict(to_model_input(images), batch_size=1000, verbose=0)
            entry["accuracy"] = round(float(np.mean(probabilities.argmax(axis=1) == labels)), 6)
            if before is not None:
                entry["accuracy_when_collected"] = round(float(np.mean(before == labels)), 6)
        result[name] = entry
    return result


def summary_line(report: dict) -> str:
    def side(entry: dict) -> str:
        if not entry["images"]:
            return "none"
        before = entry["accuracy_when_collected"]
        return (f"{entry['accuracy']:.1%} of {entry['images']}"
                + (f" (served model then: {before:.1%})" if before is not None else ""))

    return (f"corrections: taught {side(report['taught'])}; "
            f"held out {side(report['held_out'])}")
