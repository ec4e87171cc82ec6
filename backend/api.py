"""The prediction API: POST /predict (one digit) and POST /predict/number (several).

Each request is answered by one served version (backend/model_state.py): the one it pins
(``?model=<version|production|candidate>`` or an ``X-Model-Version`` header), else the one its
client id (``X-Client-Id``, kept by the page) is routed to by weight, else a random draw by
weight. Every answer names the version that produced it.
"""

from __future__ import annotations

import time

import numpy as np
from flask import Blueprint, Response, current_app, g, jsonify, request

from backend.errors import ApiError, bad_request, unprocessable
from backend.images import Drawing, decode_drawing
from backend.metrics import get_metrics
from backend.model_state import ModelState, ServedVersion, UnknownVersion, get_model_state
from backend.payload import read_image_request
from backend.preprocess import EmptyDrawing, normalise_ink
from backend.segment import TooManyMarks, segment_digits

bp = Blueprint("api", __name__)


def ready_model() -> ModelState:
    state = get_model_state()
    if not state.ready:
        detail = "it failed to load" if state.error else "retry in a moment"
        raise ApiError(503, "model_not_ready", f"the model is not loaded yet: {detail}")
    state.refresh()  # a changed registry.json is picked up here, at most every poll interval
    return state


MAX_ID_LENGTH = 128  # the longest client id or version name a request may send
UNREADABLE = "?"  # stands for a piece of a number that is not a digit


def served_version(state: ModelState) -> ServedVersion:
    """The version that answers this request (pinned, sticky by client id, or by weight)."""
    pin = request.args.get("model") or request.headers.get("X-Model-Version")
    client_id = request.headers.get("X-Client-Id")
    if client_id is not None and not 0 < len(client_id) <= MAX_ID_LENGTH:
        raise bad_request("bad_client_id",
                          f"X-Client-Id must be 1 to {MAX_ID_LENGTH} characters")
    if pin is not None and len(pin) > MAX_ID_LENGTH:
        raise bad_request("bad_model_version", "the model version asked for is too long")
    try:
        version = state.choose(client_id, pin)
    except UnknownVersion:
        served = ", ".join(state.served.versions)
        raise ApiError(404, "unknown_model_version",
                       f"version {pin!r} is not served; served: {served}") from None
    g.model_version = version.version  # for the per-version request metrics
    return version


def read_drawing() -> tuple[Drawing, bool]:
    """The request's drawing at the working size, and whether to return model inputs."""
    image_request = read_image_request(request)
    try:
        drawing = decode_drawing(image_request.image, current_app.config["MAX_IMAGE_SIDE"])
    except EmptyDrawing as exc:
        raise unprocessable("empty_drawing", str(exc)) from None
    return drawing, image_request.return_input


def read_digits(version: ServedVersion, inks: list[np.ndarray], return_input: bool
                ) -> tuple[list[dict], float]:
    """Each digit's ink -> its result as the API reports it, and the seconds spent in the model.

    A piece the model cannot read as a digit answers ``"digit": null`` with the reason.
    """
    metrics = get_metrics()
    results, inference_seconds = [], 0.0
    for ink in inks:
        image = normalise_ink(ink)
        before = time.perf_counter()
        probabilities = version.classifier.predict(image)
        inference_seconds += time.perf_counter() - before
        result = version.contract.answer(probabilities)
        metrics.observe_prediction(request.url_rule.rule, version.version,
                                   result.get("reason") or str(result["digit"]),
                                   result["confidence"])
        if return_input:
            result["input"] = np.round(image.astype(np.float64), 4).tolist()
        results.append(result)
    return results, inference_seconds


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
    version = served_version(ready_model())
    drawing, return_input = read_drawing()
    (result,), inference_seconds = read_digits(version, [drawing.ink], return_input)
    return jsonify({**result, "model": version.contract.identity,
                    "timing_ms": timing_ms(started, inference_seconds)})


@bp.post("/predict/number")
def predict_number() -> Response:
    started = time.perf_counter()
    version = served_version(ready_model())
    drawing, return_input = read_drawing()
    limit = current_app.config["MAX_DIGITS"]
    try:
        segments = segment_digits(drawing.ink, limit)
    except TooManyMarks as exc:
        raise unprocessable("too_many_digits", str(exc)) from None
    if not segments:
        raise unprocessable("empty_drawing", "the drawing is empty: write some digits first")
    if len(segments) > limit:
        raise unprocessable(
            "too_many_digits", f"found {len(segments)} digits; at most {limit} are read")
    results, inference_seconds = read_digits(version, [s.ink for s in segments], return_input)
    digits = [{**r, "box": list(drawing.to_upload(s.box))}
              for r, s in zip(results, segments, strict=True)]
    return jsonify({
        "number": "".join(UNREADABLE if d["digit"] is None else str(d["digit"])
                          for d in digits),
        "digits": digits,
        "model": version.contract.identity,
        "timing_ms": timing_ms(started, inference_seconds),
    })
