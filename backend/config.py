"""Settings from environment variables, with safe defaults (documented in the README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The model registry (backend/registry.py): registry.json and a folder per version.
DEFAULT_MODEL_DIR = REPO_ROOT / "models"
# Largest image width or height (pixels) the backend decodes, unless MAX_IMAGE_SIDE says.
DEFAULT_MAX_IMAGE_SIDE = 2048
# The serving limits shared with nginx and compose: one number each (see the file).
SERVING_ENV = REPO_ROOT / "serving.env"


def default_database_url() -> str:
    """SQLite in the user's data folder: outside the repository, kept across restarts."""
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'mnist-webapp' / 'feedback.sqlite'}"


def serving_defaults(path: Path = SERVING_ENV) -> dict[str, str]:
    """KEY=VALUE lines of serving.env (comments and blank lines skipped)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def serving_setting(name: str, env: Mapping[str, str] | None = None) -> int:
    """A numeric serving limit: the environment's value, else serving.env's."""
    env = os.environ if env is None else env
    return _int(env, name, int(serving_defaults()[name]))


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
        # How often each worker looks whether registry.json changed (a promote or rollback).
        "REGISTRY_POLL_SECONDS": _int(env, "REGISTRY_POLL_SECONDS", 2),
        # Flask refuses larger bodies with 413 before reading them.
        "MAX_CONTENT_LENGTH": serving_setting("MAX_CONTENT_LENGTH", env),
        "MAX_IMAGE_SIDE": _int(env, "MAX_IMAGE_SIDE", DEFAULT_MAX_IMAGE_SIDE),
        "MAX_DIGITS": _int(env, "MAX_DIGITS", 20),
        "CORS_ORIGINS": origins,
        # Visitors' corrections (backend/feedback/): "off" switches the feature off.
        "FEEDBACK_DATABASE_URL": env.get("FEEDBACK_DATABASE_URL") or default_database_url(),
        # A file holding the database password (kept out of the URL and the environment).
        "FEEDBACK_DATABASE_PASSWORD_FILE": env.get("FEEDBACK_DATABASE_PASSWORD_FILE") or None,
        "FEEDBACK_MAX_BYTES": serving_setting("FEEDBACK_MAX_BYTES", env),
        "FEEDBACK_UNDO_SECONDS": _int(env, "FEEDBACK_UNDO_SECONDS", 10),
        # Empty: no review page (the CLI still works).
        "FEEDBACK_ADMIN_TOKEN": env.get("FEEDBACK_ADMIN_TOKEN") or None,
        # Load the model in a background thread so /health answers at once and /ready tells
        # when predictions can be served; tests load synchronously.
        "MODEL_LOAD_ASYNC": env.get("MODEL_LOAD_ASYNC", "1") not in ("0", "false", "no"),
    }
