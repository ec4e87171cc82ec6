"""What a POST /feedback body must hold; every other body is refused with a 4xx code.

    {"id": "<UUID the page made>",             a retry with the same id stores nothing new
     "input": [[28 numbers in 0..1] x 28],     the 28x28 image the model saw
     "predicted": 0-9 | null,                  the reading (null: "not a digit")
     "corrected": 0-9,                         the digit it was (== predicted: "right")
     "model_version": "<hex>",                 a version of the registry
     "mode": "digit" | "number"}               optional, "digit" by default
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Collection

import numpy as np

from backend.errors import ApiError, bad_request
from backend.feedback.records import FRAME, Correction

FIELDS = frozenset({"id", "input", "predicted", "corrected", "model_version", "mode"})
MODES = ("digit", "number")


def parse_id(value: object) -> str:
    """A canonical UUID string (what crypto.randomUUID() makes)."""
    if not isinstance(value, str) or len(value) != 36:
        raise bad_request("invalid_id", '"id" must be a UUID such as crypto.randomUUID() makes')
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise bad_request("invalid_id", '"id" must be a UUID') from None
    return str(parsed)


def parse_correction(payload: object, known_versions: Collection[str]) -> Correction:
    if not isinstance(payload, dict):
        raise bad_request("invalid_feedback", "the body must be a JSON object")
    unknown = sorted(set(payload) - FIELDS)
    if unknown:
        raise bad_request("unknown_field", f"unknown field(s): {', '.join(unknown)}")
    for name in ("id", "input", "predicted", "corrected", "model_version"):
        if name not in payload:
            raise bad_request("missing_field", f'"{name}" is required')
    predicted = payload["predicted"]
    if predicted is not None:
        predicted = _digit(predicted, "predicted", "or null (not a digit)")
    version = payload["model_version"]
    if not isinstance(version, str) or version not in known_versions:
        raise ApiError(422, "unknown_model_version",
                       f'"model_version" must name a version of the registry: '
                       f"{', '.join(sorted(known_versions))}")
    mode = payload.get("mode", "digit")
    if mode not in MODES:
        raise bad_request("invalid_field", '"mode" must be "digit" or "number"')
    return Correction(id=parse_id(payload["id"]), model_version=version, predicted=predicted,
                      corrected=_digit(payload["corrected"], "corrected"), mode=mode,
                      image=_image(payload["input"]))


def _digit(value: object, name: str, alternative: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise bad_request("invalid_field", f'"{name}" must be a digit 0-9 {alternative}'.strip())
    return value


def _image(value: object) -> bytes:
    """28 rows of 28 numbers in [0, 1] -> 784 bytes, as MNIST stores a digit (0..255)."""
    message = f'"input" must be {FRAME} rows of {FRAME} numbers in 0..1 (the model input)'
    if not isinstance(value, list) or len(value) != FRAME:
        raise bad_request("invalid_input", message)
    for row in value:
        if not isinstance(row, list) or len(row) != FRAME:
            raise bad_request("invalid_input", message)
        for v in row:
            if (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
                    or not 0.0 <= v <= 1.0):
                raise bad_request("invalid_input", message)
    pixels = np.rint(np.asarray(value, dtype=np.float64) * 255.0).astype(np.uint8)
    if not pixels.any():
        raise ApiError(422, "empty_input", '"input" is blank: there is nothing to learn from')
    return pixels.tobytes()
