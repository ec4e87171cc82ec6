"""The corrections store on SQLite and on a real PostgreSQL server: migrations from empty and
from the previous schema, concurrent writers through real gunicorn workers, a restart."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from backend.feedback import migrate
from backend.feedback.store import Correction, FeedbackStore
from tests.conftest import MODELS_ROOT
from tests.servers import fetch, free_port, start_gunicorn, stop, wait_for_http

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """An empty database of each kind: its URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'feedback.sqlite'}"
        return
    url = request.getfixturevalue("postgres_url")
    name = "t" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def correction(**changes) -> Correction:
    fields = {"id": str(uuid.uuid4()), "model_version": "fe70582c97ae0f66", "predicted": 3,
              "corrected": 8, "mode": "digit", "image": bytes(range(256)) * 3 + bytes(16)}
    return Correction(**{**fields, **changes})


def test_migrating_from_empty_gives_the_schema_of_the_code(database):
    store = FeedbackStore(database)
    assert migrate.current_revision(store) is None
    migrate.upgrade(store)
    assert migrate.current_revision(store) == migrate.head_revision()
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("corrections")}
    assert {"id", "image", "status", "reviewed_at"} <= columns
    migrate.upgrade(store)  # a second run changes nothing
    assert migrate.current_revision(store) == migrate.head_revision()
    store.close()


def test_rows_of_the_previous_schema_survive_the_migration(database):
    store = FeedbackStore(database)
    migrate.upgrade(store, "0001")
    old = sa.table("corrections", *(sa.column(n) for n in (
        "id", "created_at", "model_version", "predicted", "corrected", "mode", "image")))
    kept = correction()
    with store.engine.begin() as connection:
        connection.execute(old.insert().values(
            id=kept.id, created_at=datetime.now(UTC), model_version=kept.model_version,
            predicted=kept.predicted, corrected=kept.corrected, mode=kept.mode,
            image=kept.image))
    migrate.upgrade(store)
    stored = store.get(kept.id)
    assert stored.same_content(kept) and stored.status == "new"
    assert store.set_status([kept.id], "accepted") == 1
    assert [c.id for c in store.for_training()] == [kept.id]
    store.close()


def test_store_operations(database):
    store = FeedbackStore(database)
    migrate.upgrade(store)
    first, second = correction(), correction(predicted=None, corrected=0, mode="number")
    assert store.add(first)[1] and store.add(second)[1]
    assert not store.add(first)[1]
    assert store.get(second.id).predicted is None
    assert [c.id for c in store.recent(10)] == [second.id, first.id]
    assert store.undo(second.id, within_seconds=60) == ("deleted", second.model_version)
    assert store.undo(second.id, within_seconds=60) == ("missing", None)
    assert store.undo(first.id, within_seconds=0) == ("expired", None)
    assert store.for_training() == []
    assert [c.id for c in store.for_training(include_new=True)] == [first.id]
    store.close()


def test_parallel_posts_to_several_workers_lose_nothing_and_survive_a_restart(
        database, tmp_path, mnist_test_set):
    store = FeedbackStore(database)  # the gunicorn master migrates it (gunicorn.conf.py)
    port = free_port()
    env = {"FEEDBACK_DATABASE_URL": database, "MODEL_DIR": str(MODELS_ROOT)}
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(port, workers=4, env=env, log_path=log)
    url = f"http://127.0.0.1:{port}"
    images, _ = mnist_test_set
    try:
        wait_for_http(f"{url}/ready", process=server)
        version = json.loads(fetch(f"{url}/models")[2])["versions"][0]["version"]
        ids = [str(uuid.uuid4()) for _ in range(200)]

        def post(index: int) -> int:
            body = {"id": ids[index], "input": (images[index] / 255.0).round(4).tolist(),
                    "predicted": None, "corrected": index % 10, "model_version": version}
            status, _, _ = fetch(f"{url}/feedback", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
            return status

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(post, range(len(ids))))
            retries = list(pool.map(post, range(50)))  # the same ids again: no new rows
        assert statuses == [201] * len(ids), log.read_text()[-2000:]
        assert retries == [200] * 50
        assert store.count() == len(ids)
    finally:
        stop(server)
    server = start_gunicorn(port, workers=2, env=env, log_path=log)
    try:
        wait_for_http(f"{url}/ready", process=server)
        assert store.count() == len(ids)  # nothing lost across the restart
        stored = store.get(ids[7])
        assert stored.corrected == 7 and stored.pixels.tolist() == images[7].tolist()
    finally:
        stop(server)
        store.close()
