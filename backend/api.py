"""The HTTP API: /predict, /predict/number, /health, /ready, /model, /metrics."""

from __future__ import annotations

import time

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, request

from backend.errors import ApiError, unprocessable
from backend.images import decode_image, image_ink
from backend.model_state import ModelState
from backend.payload import read_image_request
from backend.preprocess import EmptyDrawing, normalise_ink
from backend.segment import segment_digits

bp = Blueprint("api", __name__)


def model_state() -> ModelState:
    return current_app.extensions["mnist_model"]


def ready_model() -> ModelState:
    state = model_state()
    if not state.ready:
        detail = f": {state.error}" if state.error else "; retry in a moment"
        raise ApiError(503, "model_not_ready", f"the model is not loaded yet{detail}")
    return state


def read_ink() -> tuple[np.ndarray, bool]:
    """The request's drawing as ink (H, W) in 0..1, and whether to return the model input."""
    image_request = read_image_request(request)
    image = decode_image(image_request.image, current_app.config["MAX_IMAGE_SIDE"])
    try:
        return image_ink(image), image_request.return_input
    except EmptyDrawing as exc:
        raise unprocessable("empty_drawing", str(exc)) from None


def classify(state: ModelState, image: np.ndarray) -> tuple[int, np.ndarray]:
    probabilities = state.classifier.predict(image)
    digit = int(np.argmax(probabilities))
    current_app.extensions["mnist_metrics"].predictions.labels(request.url_rule.rule,
                                                               str(digit)).inc()
    return digit, probabilities


def digit_result(
    digit: int, probabilities: np.ndarray, image: np.ndarray, return_input: bool
) -> dict:
    """One read digit as the API reports it, with the model input when the client asked."""
    result = {
        "digit": digit,
        "confidence": round(float(probabilities[digit]), 6),
        "probabilities": [round(float(p), 6) for p in probabilities],
    }
    if return_input:
        result["input"] = np.round(image, 4).tolist()
    return result


def timing_ms(started: float, inference_seconds: float) -> dict[str, float]:
    """The request's time so far, split into inference and the rest (decoding, preprocessing)."""
    total = time.perf_counter() - started
    return {
        "preprocess": _ms(total - inference_seconds),
        "inference": _ms(inference_seconds),
        "total": _ms(total),
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


@bp.post("/predict")
def predict() -> Response:
    started = time.perf_counter()
    state = ready_model()
    ink, return_input = read_ink()
    image = normalise_ink(ink)
    before = time.perf_counter()
    digit, probabilities = classify(state, image)
    inference_seconds = time.perf_counter() - before
    return jsonify({
        **digit_result(digit, probabilities, image, return_input),
        "model": state.identity,
        "timing_ms": timing_ms(started, inference_seconds),
    })


@bp.post("/predict/number")
def predict_number() -> Response:
    started = time.perf_counter()
    state = ready_model()
    ink, return_input = read_ink()
    segments = segment_digits(ink)
    if not segments:
        raise unprocessable("empty_drawing", "the drawing is empty: write some digits first")
    limit = current_app.config["MAX_DIGITS"]
    if len(segments) > limit:
        raise unprocessable(
            "too_many_digits", f"found {len(segments)} separate marks; at most {limit} are read")
    digits, inference_seconds = [], 0.0
    for segment in segments:
        image = normalise_ink(segment.ink)
        before = time.perf_counter()
        digit, probabilities = classify(state, image)
        inference_seconds += time.perf_counter() - before
        digits.append(
            {**digit_result(digit, probabilities, image, return_input), "box": list(segment.box)}
        )
    return jsonify({
        "number": "".join(str(d["digit"]) for d in digits),
        "digits": digits,
        "model": state.identity,
        "timing_ms": timing_ms(started, inference_seconds),
    })


@bp.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready() -> tuple[Response, int]:
    state = model_state()
    if state.ready:
        return jsonify({"status": "ready", "model": state.identity,
                        "runtime": state.runtime}), 200
    body = {"status": "failed" if state.error else "loading", "runtime": state.runtime}
    if state.error:
        body["error"] = state.error
    return jsonify(body), 503


@bp.get("/model")
def model_info() -> Response:
    state = ready_model()
    return jsonify({**state.metadata, "runtime": state.runtime})


@bp.get("/metrics")
def metrics() -> Response:
    payload, content_type = current_app.extensions["mnist_metrics"].exposition()
    return Response(payload, content_type=content_type)
