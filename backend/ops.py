"""Operations endpoints: /health, /ready, /model, /models and /metrics (not for the public:
nginx serves none of /metrics; scrapers reach the backend directly)."""

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
        state.refresh()
        served = state.served
        return jsonify({"status": "ready", "model": state.identity,
                        "versions": {v.version: v.role for v in served.versions.values()},
                        "runtime": state.runtime}), 200
    body = {"status": "failed" if state.error else "loading", "runtime": state.runtime}
    if state.error:
        # The kind of failure only: the full text (with file paths) is in the server's log.
        body["error"] = state.error_kind
    return jsonify(body), 503


@bp.get("/model")
def model_info() -> Response:
    """The production version's metadata.json (what the page shows by default)."""
    state = ready_model()
    return jsonify({**state.served.production.contract.metadata, "runtime": state.runtime})


@bp.get("/models")
def models() -> Response:
    """Every served version: its role, traffic weight and metadata (the model contract)."""
    state = ready_model()
    served = state.served
    return jsonify({
        "model": served.registry.model,
        "runtime": state.runtime,
        "versions": [{"version": v.version, "role": v.role, "weight": v.weight,
                      "metadata": v.contract.metadata} for v in served.versions.values()],
        "history": list(served.registry.history),
        # A registry change that could not be served (the versions above still serve).
        "reload_error": state.reload_error_kind,
    })


@bp.get("/metrics")
def metrics() -> Response:
    payload, content_type = get_metrics().exposition()
    return Response(payload, content_type=content_type)
