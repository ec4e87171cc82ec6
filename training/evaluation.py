"""What the notebook reports and saves with the model: accuracy, rejection and calibration.

Four measures, all on data that training never saw:
- the MNIST test set (10,000; a "not a digit" answer counts as wrong),
- the same 10,000 digits redrawn as canvas uploads in three pixel formats (training/canvas.py),
- non-digit drawings of kinds training never saw, from other seeds: the validation kinds
  (which guided the choice of training kinds) and the held-out kinds (the test: never tuned
  on), reported apart,
- expected calibration error before and after the temperature, on the first two.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from training.calibration import expected_calibration_error, softmax
from training.canvas import PIXEL_FORMATS, redrawn_test_set
from training.corrections import summary_line as corrections_summary
from training.data import to_model_input
from training.model import NOT_A_DIGIT_CLASS
from training.negatives import HELD_OUT_KINDS, VALIDATION_KINDS, generate

HELD_OUT_NEGATIVES = 4000
HELD_OUT_SEED = 90_210  # training negatives use TrainConfig.seed and seed + 1
VALIDATION_SEED = 31_337


@dataclass(frozen=True)
class Scored:
    """One data set's logits and labels (-1 for a non-digit), scored at a temperature."""

    logits: np.ndarray
    labels: np.ndarray

    def probabilities(self, temperature: float = 1.0) -> np.ndarray:
        return softmax(self.logits.astype(np.float64), temperature)

    @property
    def predictions(self) -> np.ndarray:
        return self.logits.argmax(axis=1)

    def accuracy(self, mask: np.ndarray | None = None) -> float:
        hit = self.predictions == self.labels
        return float(hit[mask].mean() if mask is not None else hit.mean())

    def rejected(self) -> int:
        return int(np.sum(self.predictions == NOT_A_DIGIT_CLASS))

    def ece(self, temperature: float) -> float:
        return expected_calibration_error(self.probabilities(temperature), self.labels)


def logits_model(model: keras.Model) -> keras.Model:
    """The network up to its logits (before any temperature or softmax)."""
    return keras.Model(model.inputs, model.get_layer("logits").output)


def score(model: keras.Model, inputs: np.ndarray, labels: np.ndarray) -> Scored:
    """Logits of float32 (N, 28, 28[, 1]) inputs in 0..1."""
    if inputs.ndim == 3:
        inputs = inputs[..., np.newaxis]
    logits = logits_model(model).predict(inputs, batch_size=1000, verbose=0)
    return Scored(np.asarray(logits, np.float64), np.asarray(labels, np.int64))


def report(model: keras.Model, x_test: np.ndarray, y_test: np.ndarray,
           temperature: float) -> dict:
    """The evaluation that metadata.json carries (``model``: the uncalibrated network)."""
    mnist = score(model, to_model_input(x_test), y_test)
    canvas_inputs, formats = redrawn_test_set(x_test)
    canvas = score(model, canvas_inputs, y_test)
    return {
        "mnist_test": {
            "images": len(y_test),
            "accuracy": round(mnist.accuracy(), 6),
            "errors": int(np.sum(mnist.predictions != mnist.labels)),
            "rejected_as_not_a_digit": mnist.rejected(),
            "ece": {"uncalibrated": round(mnist.ece(1.0), 5),
                    "calibrated": round(mnist.ece(temperature), 5)},
        },
        "canvas": {
            "images": len(y_test),
            "accuracy": round(canvas.accuracy(), 6),
            "by_format": {name: round(canvas.accuracy(formats == i), 6)
                          for i, name in enumerate(PIXEL_FORMATS)},
            "rejected_as_not_a_digit": canvas.rejected(),
            "ece": {"uncalibrated": round(canvas.ece(1.0), 5),
                    "calibrated": round(canvas.ece(temperature), 5)},
        },
        "held_out_non_digits": non_digit_report(model, HELD_OUT_KINDS, HELD_OUT_SEED),
        "validation_non_digits": non_digit_report(model, VALIDATION_KINDS, VALIDATION_SEED),
    }


def non_digit_report(model: keras.Model, kinds: dict, seed: int) -> dict:
    """How many generated non-digits of ``kinds`` the model answers "not a digit"."""
    negatives = generate(HELD_OUT_NEGATIVES, seed, kinds)
    scored = score(model, to_model_input(negatives.images),
                   np.full(len(negatives.images), NOT_A_DIGIT_CLASS))
    rejected = scored.predictions == NOT_A_DIGIT_CLASS
    return {
        "images": len(negatives.images),
        "seed": seed,
        "kinds": list(kinds),
        "rejected": round(float(np.mean(rejected)), 4),
        "rejected_by_kind": {kind: round(float(np.mean(rejected[negatives.kinds == kind])), 4)
                             for kind in kinds},
    }


def summary_lines(evaluation: dict) -> list[str]:
    """The report as the notebook prints it."""
    m, c, n, v = (evaluation[k] for k in ("mnist_test", "canvas", "held_out_non_digits",
                                          "validation_non_digits"))
    return [
        f"MNIST test:  {m['accuracy']:.2%} ({m['errors']} of {m['images']} wrong, "
        f"{m['rejected_as_not_a_digit']} of them answered 'not a digit')",
        f"canvas:      {c['accuracy']:.2%} of {c['images']} redrawn test digits read right "
        f"({', '.join(f'{k} {v:.2%}' for k, v in c['by_format'].items())}); "
        f"{c['rejected_as_not_a_digit']} answered 'not a digit'",
        f"non-digits:  {n['rejected']:.1%} of {n['images']} held-out drawings answered "
        f"'not a digit' ({kinds_text(n)})",
        f"             {v['rejected']:.1%} of the validation kinds ({kinds_text(v)})",
        f"ECE (15 bins), before -> after calibration: MNIST {m['ece']['uncalibrated']:.2%} -> "
        f"{m['ece']['calibrated']:.2%}, canvas {c['ece']['uncalibrated']:.2%} -> "
        f"{c['ece']['calibrated']:.2%}",
        *([corrections_summary(evaluation["corrections"])] if "corrections" in evaluation
          else []),
    ]


def kinds_text(report: dict) -> str:
    return ", ".join(f"{kind} {share:.0%}" for kind, share in report["rejected_by_kind"].items())
