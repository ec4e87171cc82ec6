"""Operations endpoints: /health, /ready, /model and /metrics (not for the public: nginx
serves none of /metrics; scrapers reach the backend directly)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from backend.api import ready_model
from backend.metrics import get_metrics
from backend.model_state import get_model_state

bp = Blueprint("ops", __name__)


@bp.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready() -> tuple[Response, int]:
    state = get_model_state()
    if state.ready:
        return jsonify({"status": "ready", "model": state.identity,
                        "runtime": state.runtime}), 200
    body = {"status": "failed" if state.error else "loading", "runtime": state.runtime}
    if state.error:
        # The kind of failure only: the full text (with file paths) is in the server's log.
        body["error"] = state.error_kind
    return jsonify(body), 503


@bp.get("/model")
def model_info() -> Response:
    state = ready_model()
    return jsonify({**state.metadata, "runtime": state.runtime})


@bp.get("/metrics")
def metrics() -> Response:
    payload, content_type = get_metrics().exposition()
    return Response(payload, content_type=content_type)
