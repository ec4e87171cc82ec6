"""POST /feedback (a visitor's answer to a reading) and DELETE /feedback/<id> (its undo).

Nothing is stored unless the visitor acts. What is stored: the 28x28 image the model saw,
the reading, the digit the visitor gave, the model version and the time; no address, no
upload. A retry with the same client-made id stores nothing new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from backend.api import ready_model
from backend.errors import ApiError, too_large
from backend.feedback.records import Correction
from backend.feedback.validate import parse_correction, parse_id
from backend.metrics import get_metrics
from backend.payload import parse_json

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported only where feedback is on
    from backend.feedback.store import FeedbackStore

bp = Blueprint("feedback", __name__)
EXTENSION = "mnist_feedback"


def init_app(app: Flask, store: FeedbackStore | None) -> None:
    """``store`` None: feedback is switched off (FEEDBACK_DATABASE_URL=off)."""
    app.extensions[EXTENSION] = store
    app.register_blueprint(bp)


def get_store() -> FeedbackStore:
    store = current_app.extensions.get(EXTENSION)
    if store is None:
        raise ApiError(404, "feedback_disabled", "this deployment does not collect feedback")
    return store


def unavailable(exc: Exception) -> ApiError:
    current_app.logger.error("feedback database error: %s", exc)
    return ApiError(503, "feedback_unavailable",
                    "feedback cannot be stored right now: try again in a moment")


def known_versions() -> set[str]:
    """Every version of the registry: served ones and earlier productions."""
    registry = ready_model().served.registry
    return {v for v in (registry.production, registry.candidate, *registry.history) if v}


@bp.post("/feedback")
def add_feedback() -> tuple[Response, int]:
    store = get_store()
    limit = current_app.config["FEEDBACK_MAX_BYTES"]
    if (request.content_length or 0) > limit:
        raise too_large("payload_too_large", f"feedback bodies are at most {limit} bytes")
    body = request.get_data(cache=False)
    if len(body) > limit:
        raise too_large("payload_too_large", f"feedback bodies are at most {limit} bytes")
    correction = parse_correction(parse_json(body), known_versions())
    try:
        stored, created = store.add(correction)
    except store.errors as exc:
        raise unavailable(exc) from None
    if not created and not stored.same_content(correction):
        raise ApiError(409, "id_conflict", "another answer was already stored with this id")
    if created:
        get_metrics().observe_feedback(stored.model_version, stored.predicted,
                                       stored.corrected)
    return jsonify({**answer(stored), "duplicate": not created}), 201 if created else 200


@bp.delete("/feedback/<correction_id>")
def undo_feedback(correction_id: str) -> Response:
    store = get_store()
    correction_id = parse_id(correction_id)
    seconds = current_app.config["FEEDBACK_UNDO_SECONDS"]
    try:
        outcome, version = store.undo(correction_id, seconds)
    except store.errors as exc:
        raise unavailable(exc) from None
    if outcome == "missing":
        raise ApiError(404, "unknown_feedback", "no feedback with this id")
    if outcome == "expired":
        raise ApiError(409, "undo_expired", f"feedback can be undone for {seconds} s only")
    get_metrics().observe_feedback_undone(version)
    return jsonify({"id": correction_id, "deleted": True})


def answer(stored: Correction) -> dict:
    return {"stored": {**stored.to_json(), "image": "28x28 model input"},
            "undo_seconds": current_app.config["FEEDBACK_UNDO_SECONDS"]}
