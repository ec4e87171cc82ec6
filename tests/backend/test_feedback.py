"""POST /feedback and its undo, the review page and the review CLI, on the real app (SQLite)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from backend.app import create_app
from backend.feedback import review
from backend.feedback.store import corrections
from tests.backend.conftest import ADMIN_TOKEN
from tests.conftest import MODELS_ROOT


@pytest.fixture
def store(app):
    return app.extensions["mnist_feedback"]


@pytest.fixture(scope="module")
def version(app) -> str:
    return app.extensions["mnist_model"].served.registry.production


def model_input(seed: int = 0) -> list[list[float]]:
    image = np.zeros((28, 28))
    image[6:22, 12:16] = np.random.default_rng(seed).uniform(0.5, 1.0, (16, 4))
    return np.round(image, 4).tolist()


def body(version: str, **changes) -> dict:
    answer = {"id": str(uuid.uuid4()), "input": model_input(), "predicted": 7,
              "corrected": 1, "model_version": version, "mode": "digit"}
    answer.update(changes)
    return {k: v for k, v in answer.items() if v is not ...}


def feedback_count(client, version: str, kind: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    total = 0.0
    for line in text.splitlines():
        if (line.startswith("mnist_feedback_total{") and f'version="{version}"' in line
                and f'kind="{kind}"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_correction_is_stored_as_the_model_saw_it(client, store, version):
    sent = body(version)
    before = feedback_count(client, version, "correction")
    response = client.post("/feedback", json=sent)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["duplicate"] is False
    assert answer["stored"]["corrected"] == 1 and answer["stored"]["predicted"] == 7
    assert answer["undo_seconds"] == client.application.config["FEEDBACK_UNDO_SECONDS"]
    stored = store.get(sent["id"])
    expected = np.rint(np.asarray(sent["input"]) * 255).astype(np.uint8)
    np.testing.assert_array_equal(stored.pixels, expected)
    assert (stored.model_version, stored.status, stored.mode) == (version, "new", "digit")
    assert feedback_count(client, version, "correction") == before + 1


def test_a_confirmation_and_a_not_a_digit_reading_are_kept_apart(client, store, version):
    before = feedback_count(client, version, "confirmation")
    assert client.post("/feedback", json=body(version, predicted=4, corrected=4)
                       ).status_code == 201
    assert feedback_count(client, version, "confirmation") == before + 1
    sent = body(version, predicted=None, corrected=9, mode="number")
    assert client.post("/feedback", json=sent).status_code == 201
    assert store.get(sent["id"]).predicted is None
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'corrected="9",kind="correction",predicted="not_a_digit"' in metrics


def test_a_retry_stores_nothing_new(client, store, version):
    sent = body(version)
    assert client.post("/feedback", json=sent).status_code == 201
    count = store.count()
    before = feedback_count(client, version, "correction")
    again = client.post("/feedback", json=sent)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert store.count() == count
    assert feedback_count(client, version, "correction") == before


def test_the_same_id_with_other_content_is_a_conflict(client, store, version):
    sent = body(version)
    assert client.post("/feedback", json=sent).status_code == 201
    response = client.post("/feedback", json={**sent, "corrected": 2})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "id_conflict"
    assert store.get(sent["id"]).corrected == 1


BAD_FIELDS = {
    "missing id": ({"id": ...}, 400, "missing_field"),
    "id not a uuid": ({"id": "1234"}, 400, "invalid_id"),
    "id of 36 other characters": ({"id": "x" * 36}, 400, "invalid_id"),
    "id a number": ({"id": 5}, 400, "invalid_id"),
    "missing input": ({"input": ...}, 400, "missing_field"),
    "input 27 rows": ({"input": model_input()[:27]}, 400, "invalid_input"),
    "input a short row": ({"input": [*model_input()[:27], [0.0] * 27]}, 400, "invalid_input"),
    "input above 1": ({"input": [[1.5] * 28] * 28}, 400, "invalid_input"),
    "input negative": ({"input": [[-0.1] * 28] * 28}, 400, "invalid_input"),
    "input booleans": ({"input": [[True] * 28] * 28}, 400, "invalid_input"),
    "input strings": ({"input": [["0.5"] * 28] * 28}, 400, "invalid_input"),
    "input a string": ({"input": "data:image/png;base64,AAAA"}, 400, "invalid_input"),
    "input blank": ({"input": [[0.0] * 28] * 28}, 422, "empty_input"),
    "predicted 10": ({"predicted": 10}, 400, "invalid_field"),
    "predicted a string": ({"predicted": "3"}, 400, "invalid_field"),
    "predicted missing": ({"predicted": ...}, 400, "missing_field"),
    "corrected null": ({"corrected": None}, 400, "invalid_field"),
    "corrected true": ({"corrected": True}, 400, "invalid_field"),
    "corrected -1": ({"corrected": -1}, 400, "invalid_field"),
    "corrected 2.0": ({"corrected": 2.0}, 400, "invalid_field"),
    "unknown version": ({"model_version": "0123456789abcdef"}, 422, "unknown_model_version"),
    "version a list": ({"model_version": ["x"]}, 422, "unknown_model_version"),
    "bad mode": ({"mode": "zip"}, 400, "invalid_field"),
    "unknown field": ({"ip": "127.0.0.1"}, 400, "unknown_field"),
}


@pytest.mark.parametrize("changes, status, code", BAD_FIELDS.values(), ids=BAD_FIELDS.keys())
def test_every_bad_field_is_refused_and_nothing_is_stored(client, store, version, changes,
                                                          status, code):
    count = store.count()
    response = client.post("/feedback", json=body(version, **changes))
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert store.count() == count


@pytest.mark.parametrize("raw, status, code", [
    (b"not json", 400, "invalid_json"),
    (b"[1, 2]", 400, "invalid_feedback"),
    (b"[" * 10_000, 400, "json_too_deep"),
], ids=["not json", "a list", "nested deep"])
def test_bodies_that_are_not_an_answer_are_refused(client, raw, status, code):
    response = client.post("/feedback", data=raw, content_type="application/json")
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_nan_in_the_input_is_refused(client, version):
    text = json.dumps(body(version)).replace("0.0,", "NaN,", 1)
    response = client.post("/feedback", data=text, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"


def test_a_body_over_the_feedback_limit_is_refused_before_parsing(client, version):
    limit = client.application.config["FEEDBACK_MAX_BYTES"]
    padded = json.dumps(body(version)).replace("{", "{" + " " * limit, 1)
    response = client.post("/feedback", data=padded, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_undo_deletes_within_the_window_only(client, store, app, version):
    sent = body(version)
    assert client.post("/feedback", json=sent).status_code == 201
    undone = f'mnist_feedback_undone_total{{version="{version}"}}'

    def undone_count() -> float:
        lines = client.get("/metrics").get_data(as_text=True).splitlines()
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(undone))

    before = undone_count()
    response = client.delete(f"/feedback/{sent['id']}")
    assert response.status_code == 200 and response.get_json()["deleted"] is True
    assert undone_count() == before + 1
    assert store.get(sent["id"]) is None
    assert client.delete(f"/feedback/{sent['id']}").status_code == 404

    late = body(version)
    assert client.post("/feedback", json=late).status_code == 201
    with store.engine.begin() as connection:
        connection.execute(corrections.update().where(corrections.c.id == late["id"])
                           .values(created_at=datetime.now(UTC) - timedelta(hours=1)))
    response = client.delete(f"/feedback/{late['id']}")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "undo_expired"
    assert store.get(late["id"]) is not None
    assert client.delete("/feedback/not-a-uuid").status_code == 400


def test_without_a_database_feedback_is_off_and_predictions_still_work(digit_data_url):
    app = create_app({"TESTING": True, "MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": False,
                      "FEEDBACK_DATABASE_URL": "off"})
    client = app.test_client()
    response = client.post("/feedback", json={})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "feedback_disabled"
    assert client.post("/predict", json={"image": digit_data_url}).status_code == 200


def test_an_unmigrated_database_answers_503_not_500(tmp_path, version):
    app = create_app({"TESTING": True, "MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": False,
                      "FEEDBACK_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite'}"})
    response = app.test_client().post("/feedback", json=body(version))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "feedback_unavailable"


def basic(token: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"admin:{token}".encode()).decode()}


def test_the_review_page_needs_the_token(client):
    assert client.get("/admin/feedback").status_code == 401
    assert client.get("/admin/feedback", headers=basic("wrong")).status_code == 401
    assert client.get("/admin/feedback", headers=basic(ADMIN_TOKEN)).status_code == 200


def test_the_review_page_shows_thumbnails_and_rejects(client, store, version):
    sent = body(version)
    client.post("/feedback", json=sent)
    page = client.get("/admin/feedback", headers=basic(ADMIN_TOKEN)).get_data(as_text=True)
    assert f'data-id="{sent["id"]}"' in page
    assert 'src="data:image/png;base64,' in page
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    url = f"/admin/feedback/{sent['id']}"
    # Without the form's token (another site's form), nothing changes.
    assert client.post(url, data={"status": "rejected"},
                       headers=basic(ADMIN_TOKEN)).status_code == 403
    assert store.get(sent["id"]).status == "new"
    response = client.post(url, data={"status": "rejected", "csrf": csrf},
                           headers=basic(ADMIN_TOKEN))
    assert response.status_code == 303
    assert store.get(sent["id"]).status == "rejected"


def test_no_token_no_review_page(tmp_path):
    app = create_app({"TESTING": True, "MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": False,
                      "FEEDBACK_DATABASE_URL": f"sqlite:///{tmp_path / 'f.sqlite'}"})
    assert app.test_client().get("/admin/feedback", headers=basic("")).status_code == 404


def test_the_review_cli_lists_rejects_and_exports(client, store, version, tmp_path,
                                                  monkeypatch, capsys):
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", store.url)
    kept, dropped = body(version, corrected=3), body(version, corrected=8)
    for sent in (kept, dropped):
        assert client.post("/feedback", json=sent).status_code == 201
    assert review.main(["list", "-n", "500", "--thumbnails"]) == 0
    listing = capsys.readouterr().out
    assert kept["id"] in listing and "█" in listing
    assert review.main(["accept", kept["id"]]) == 0
    assert review.main(["reject", dropped["id"]]) == 0
    assert review.main(["show", dropped["id"]]) == 0
    assert "rejected" in capsys.readouterr().out
    out = tmp_path / "corrections.npz"
    assert review.main(["export", str(out), "--holdout", "0"]) == 0
    with np.load(out) as npz:
        ids = list(npz["ids_train"])
        assert kept["id"] in ids and dropped["id"] not in ids
        index = ids.index(kept["id"])
        assert npz["y_train"][index] == 3 and npz["predicted_train"][index] == 7
        assert npz["x_train"].dtype == np.uint8 and npz["x_train"].shape[1:] == (28, 28)
        assert npz["x_test"].shape == (0, 28, 28)
    assert review.main(["show", str(uuid.uuid4())]) == 1


def test_unknown_ids_are_reported_by_the_cli(store, monkeypatch):
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", store.url)
    assert review.main(["reject", str(uuid.uuid4())]) == 1


def test_the_database_url_keeps_the_password_out_of_the_environment(tmp_path):
    from backend.feedback.store import database_url

    secret = tmp_path / "password"
    secret.write_text("s3cr@t/:pw\n")
    url = database_url("postgresql+psycopg://mnist@db:5432/feedback", str(secret))
    assert sa.engine.make_url(url).password == "s3cr@t/:pw"
