"""The Flask app as an AWS Lambda function behind API Gateway.

The function runs the very app gunicorn serves (routes, preprocessing, errors, the model
contract): apig-wsgi turns API Gateway's events, REST API (v1) and HTTP API (v2) alike, into
WSGI requests, base64-encoded binary bodies included, and the app's answers back into the
event's response shape. ``backend.lambda_function.handler`` is what Lambda calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from apig_wsgi import make_lambda_handler

from backend.app import create_app
from backend.config import settings_from_env

# What differs in a function: no database (feedback is off unless FEEDBACK_DATABASE_URL names
# one), and the model loads while Lambda initialises the function, before the first event.
FUNCTION_DEFAULTS = {"FEEDBACK_DATABASE_URL": "off", "MODEL_LOAD_ASYNC": "0"}

LambdaHandler = Callable[[dict, Any], dict]


def function_settings(env: Mapping[str, str] | None = None) -> dict:
    """The app's settings in a function: ``env`` (default os.environ) over FUNCTION_DEFAULTS."""
    env = os.environ if env is None else env
    return settings_from_env({**FUNCTION_DEFAULTS, **{k: v for k, v in env.items() if v}})


def build_handler(env: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None) -> LambdaHandler:
    """A Lambda handler around a fresh app; ``overrides`` replace settings (tests)."""
    app = create_app({**function_settings(env), **(overrides or {})})
    # Binary answers (none today) would be base64-encoded; JSON stays text.
    return make_lambda_handler(app, binary_support=True)
