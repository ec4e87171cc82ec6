"""The backend under test: the real app factory with the real committed model."""

from __future__ import annotations

import pytest

from backend.app import create_app
from backend.feedback.migrate import upgrade
from tests.conftest import MODELS_ROOT

ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    database = tmp_path_factory.mktemp("feedback") / "feedback.sqlite"
    app = create_app({"TESTING": True, "MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": False,
                      "FEEDBACK_DATABASE_URL": f"sqlite:///{database}",
                      "FEEDBACK_ADMIN_TOKEN": ADMIN_TOKEN})
    upgrade(app.extensions["mnist_feedback"])
    return app


@pytest.fixture
def client(app):
    return app.test_client()
