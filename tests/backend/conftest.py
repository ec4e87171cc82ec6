"""The backend under test: the real app factory with the real committed model."""

from __future__ import annotations

import pytest

from backend.app import create_app
from tests.conftest import MODELS_ROOT


@pytest.fixture(scope="session")
def app():
    return create_app({"TESTING": True, "MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": False})


@pytest.fixture
def client(app):
    return app.test_client()
