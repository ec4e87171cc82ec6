"""Settings from environment variables, with safe defaults (documented in the README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "cnn-mnist"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"{name} must be positive, got {number}")
    return number


def settings_from_env(env: Mapping[str, str] | None = None) -> dict:
    """The app's configuration, read from ``env`` (default: os.environ)."""
    env = os.environ if env is None else env
    origins = [o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()]
    return {
        "MODEL_DIR": Path(env.get("MODEL_DIR") or DEFAULT_MODEL_DIR),
        "MODEL_RUNTIME": (env.get("MODEL_RUNTIME") or "litert").lower(),
        # Flask refuses larger bodies with 413 before reading them.
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 1024 * 1024),
        "MAX_IMAGE_SIDE": _int(env, "MAX_IMAGE_SIDE", 2048),
        "MAX_DIGITS": _int(env, "MAX_DIGITS", 20),
        "CORS_ORIGINS": origins,
        # Load the model in a background thread so /health answers at once and /ready tells
        # when predictions can be served; tests load synchronously.
        "MODEL_LOAD_ASYNC": env.get("MODEL_LOAD_ASYNC", "1") not in ("0", "false", "no"),
    }
