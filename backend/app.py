"""The Flask application factory."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from backend import api, ops
from backend.config import settings_from_env
from backend.errors import ApiError
from backend.feedback import admin
from backend.feedback import api as feedback_api
from backend.metrics import Metrics, get_metrics
from backend.model_state import ModelState

if TYPE_CHECKING:
    from backend.feedback.store import FeedbackStore

log = logging.getLogger(__name__)

# Stable codes for the HTTP errors Flask/Werkzeug raise themselves.
_HTTP_CODES = {
    404: ("not_found", "no such endpoint"),
    405: ("method_not_allowed", None),
    413: ("payload_too_large", None),
}


class InMemoryRequest(Request):
    """Multipart uploads stay in memory (werkzeug spools files over 500 KB to a temp file).

    Bodies are capped by MAX_CONTENT_LENGTH, so memory is bounded; nothing a user sends is
    ever written to disk.
    """

    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        return io.BytesIO()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, overridden by ``config`` (tests)."""
    app = Flask(__name__)
    app.request_class = InMemoryRequest
    app.config.update(settings_from_env())
    if config:
        app.config.update(config)
    app.json.sort_keys = False

    state = ModelState(app.config["MODEL_DIR"], app.config["MODEL_RUNTIME"],
                       app.config["REGISTRY_POLL_SECONDS"])
    state.init_app(app)
    Metrics().init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(ops.bp)
    store = feedback_store(app.config)
    feedback_api.init_app(app, store)
    if store is not None and app.config["FEEDBACK_ADMIN_TOKEN"]:
        admin.init_app(app, app.config["FEEDBACK_ADMIN_TOKEN"])
    _register_error_handlers(app)
    _register_request_metrics(app)
    if app.config["CORS_ORIGINS"]:
        from flask_cors import CORS

        CORS(app, origins=app.config["CORS_ORIGINS"])

    if app.config["MODEL_LOAD_ASYNC"]:
        state.load_in_background()
    else:
        state.load()
    return app


def feedback_store(config: Mapping[str, Any]) -> FeedbackStore | None:
    """The corrections database named by the settings, or None where feedback is off."""
    url = config["FEEDBACK_DATABASE_URL"]
    if url == "off":
        return None
    # Imported here: without feedback no database library is needed (the Lambda package).
    from backend.feedback.store import FeedbackStore, database_url

    return FeedbackStore(database_url(url, config["FEEDBACK_DATABASE_PASSWORD_FILE"]))


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int]:
        response = jsonify(error.to_json())
        if error.status == 503:
            response.headers["Retry-After"] = "1"
        return response, error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        code, message = _HTTP_CODES.get(status, (None, None))
        if status == 413:
            message = (f"the request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes")
        body = {"error": {
            "code": code or (error.name or "error").lower().replace(" ", "_"),
            "message": message or error.description or error.name,
        }}
        response = jsonify(body)
        if status == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, status

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify({"error": {"code": "internal_error",
                                  "message": "unexpected server error"}}), 500


def _register_request_metrics(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None:
            get_metrics().observe_request(_route_label(), request.method, response.status_code,
                                          time.perf_counter() - started,
                                          g.get("model_version"))
        return response


def _route_label() -> str:
    """The rule, never the raw path of an unknown URL: labels must stay a small, fixed set."""
    if request.url_rule is not None:
        return request.url_rule.rule
    if isinstance(request.routing_exception, MethodNotAllowed):
        return request.path  # a known route, asked with the wrong method
    return "unmatched"
