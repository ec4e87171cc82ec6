"""Model versions: the registry, routing by weight (sticky per client), pinning, reloading in
place, per-version metrics, and the promote/rollback command line."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from backend import versions
from backend.app import create_app
from backend.registry import Registry, RegistryError, open_store, parse_registry, write_registry
from tests.conftest import MODEL_DIR, MODEL_NAME

PRODUCTION = "aaaaaaaaaaaaaaaa"
CANDIDATE = "bbbbbbbbbbbbbbbb"
SCRAMBLED = "cccccccccccccccc"


def add_version(root: Path, version: str, labels_reversed: bool = False) -> Path:
    """A copy of the committed model under another version hash (same weights).

    With labels_reversed the contract maps every output to the wrong digit: a version that is
    plainly worse, for the promotion gate.
    """
    metadata = json.loads((MODEL_DIR / "metadata.json").read_text())
    target = root / metadata["name"] / version
    shutil.copytree(MODEL_DIR, target)
    metadata["version"] = version
    if labels_reversed:
        digits = [label for label in metadata["labels"] if label.isdigit()]
        others = [label for label in metadata["labels"] if not label.isdigit()]
        metadata["labels"] = digits[::-1] + others
    (target / "metadata.json").write_text(json.dumps(metadata))
    return target


@pytest.fixture
def store(tmp_path) -> Path:
    """A registry with a production and a 30% candidate."""
    for version in (PRODUCTION, CANDIDATE):
        add_version(tmp_path, version)
    add_version(tmp_path, SCRAMBLED, labels_reversed=True)
    name = json.loads((MODEL_DIR / "metadata.json").read_text())["name"]
    write_registry(tmp_path, Registry(name, PRODUCTION, CANDIDATE, 0.3))
    return tmp_path


def make_client(root: Path, poll: int = 1):
    app = create_app({"MODEL_DIR": root, "MODEL_LOAD_ASYNC": False,
                      "REGISTRY_POLL_SECONDS": poll})
    return app, app.test_client()


# --- the registry file ----------------------------------------------------------------------

def test_production_weight_may_be_left_out():
    registry = parse_registry({"model": "m", "production": {"version": PRODUCTION},
                               "candidate": {"version": CANDIDATE, "weight": 0.25}})
    assert registry.weights == {PRODUCTION: 0.75, CANDIDATE: 0.25}


@pytest.mark.parametrize("data, message", [
    ([], "JSON object"),
    ({"model": "m"}, "production"),
    ({"model": "m", "production": {"version": "zz"}}, "version hash"),
    ({"model": "m", "production": {"version": PRODUCTION, "weight": 0.8},
      "candidate": {"version": CANDIDATE, "weight": 0.1}}, "add up to 0.9"),
    ({"model": "m", "production": {"version": PRODUCTION},
      "candidate": {"version": CANDIDATE, "weight": 1.5}}, "from 0 to 1"),
    ({"model": "m", "production": {"version": PRODUCTION},
      "candidate": {"version": PRODUCTION, "weight": 0.5}}, "is the production"),
    ({"model": "../etc", "production": {"version": PRODUCTION}}, "model name"),
    ({"model": "m", "production": {"version": PRODUCTION}, "extra": 1}, "unknown keys"),
])
def test_bad_registries_are_refused_with_the_reason(data, message):
    with pytest.raises(RegistryError, match=message):
        parse_registry(data)


def test_a_registry_naming_a_missing_version_fails_at_start_up(store):
    data = json.loads((store / "registry.json").read_text())
    data["candidate"]["version"] = "dddddddddddddddd"
    (store / "registry.json").write_text(json.dumps(data))
    app, client = make_client(store)
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.get_json()["error"] == "RegistryError"
    # Never half-loaded: production alone is not served either.
    assert client.post("/predict", json={"image": ""}).status_code == 503
    assert app.extensions["mnist_model"].served is None


def test_a_version_without_its_model_file_fails_at_start_up(store):
    (store / MODEL_NAME / CANDIDATE / "model.tflite").unlink()
    _, client = make_client(store)
    assert client.get("/ready").status_code == 503


def test_a_folder_holding_another_versions_metadata_is_refused(store):
    metadata_path = store / MODEL_NAME / CANDIDATE / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata["version"] = PRODUCTION
    metadata_path.write_text(json.dumps(metadata))
    _, client = make_client(store)
    assert client.get("/ready").get_json()["error"] == "ContractError"


def test_the_flat_layout_before_versions_still_serves(digit_data_url):
    _, client = make_client(MODEL_DIR)
    body = client.post("/predict", json={"image": digit_data_url}).get_json()
    assert body["model"]["version"] == json.loads((MODEL_DIR / "metadata.json").read_text()
                                                   )["version"]


def test_migrate_moves_the_flat_layout_into_a_version_folder(tmp_path):
    flat = tmp_path / "flat"
    shutil.copytree(MODEL_DIR, flat)
    version = json.loads((flat / "metadata.json").read_text())["version"]
    assert versions.main(["--models", str(flat), "migrate"]) == 0
    store = open_store(flat)
    assert not store.legacy and store.registry.production == version
    assert (store.version_dir(version) / "model.tflite").is_file()
    assert not (flat / "model.tflite").exists()


# --- routing ----------------------------------------------------------------------------------

def test_the_weight_split_holds_over_many_clients(store, digit_png):
    app, _ = make_client(store)
    served = app.extensions["mnist_model"].served
    picks = [served.route(f"client-{i}").version for i in range(20_000)]
    share = picks.count(CANDIDATE) / len(picks)
    assert abs(share - 0.3) < 0.02


def test_the_same_client_always_sees_the_same_version(store, digit_data_url):
    _, client = make_client(store)
    for i in range(20):
        headers = {"X-Client-Id": f"visitor-{i}"}
        seen = {client.post("/predict", json={"image": digit_data_url}, headers=headers)
                .get_json()["model"]["version"] for _ in range(5)}
        assert len(seen) == 1


def test_raising_the_candidate_weight_keeps_its_clients(store):
    app, _ = make_client(store)
    served = app.extensions["mnist_model"].served
    before = {f"c{i}" for i in range(2000) if served.route(f"c{i}").version == CANDIDATE}
    write_registry(store, Registry(MODEL_NAME, PRODUCTION, CANDIDATE, 0.6))
    app.extensions["mnist_model"].refresh(force=True)
    served = app.extensions["mnist_model"].served
    after = {f"c{i}" for i in range(2000) if served.route(f"c{i}").version == CANDIDATE}
    assert before < after


def test_pinning_by_query_header_or_role(store, digit_data_url):
    _, client = make_client(store)
    for query, headers in ((f"?model={CANDIDATE}", {}), ("?model=candidate", {}),
                           ("", {"X-Model-Version": CANDIDATE})):
        for i in range(5):
            body = client.post("/predict" + query, json={"image": digit_data_url},
                               headers={**headers, "X-Client-Id": f"x{i}"}).get_json()
            assert body["model"]["version"] == CANDIDATE


def test_pinning_an_unserved_version_is_404(store, digit_data_url):
    _, client = make_client(store)
    response = client.post(f"/predict?model={SCRAMBLED}", json={"image": digit_data_url})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_model_version"


def test_an_overlong_client_id_is_400(store, digit_data_url):
    _, client = make_client(store)
    response = client.post("/predict", json={"image": digit_data_url},
                           headers={"X-Client-Id": "x" * 500})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_client_id"


def test_models_lists_the_served_versions_with_weights_and_metadata(store):
    _, client = make_client(store)
    body = client.get("/models").get_json()
    assert [(v["version"], v["role"], v["weight"]) for v in body["versions"]] == [
        (PRODUCTION, "production", pytest.approx(0.7)), (CANDIDATE, "candidate", 0.3)]
    assert body["versions"][0]["metadata"]["labels"][:10] == [str(d) for d in range(10)]
    assert client.get("/model").get_json()["version"] == PRODUCTION


def test_metrics_carry_the_version(store, digit_data_url):
    _, client = make_client(store)
    for pin in (PRODUCTION, CANDIDATE, CANDIDATE):
        client.post(f"/predict?model={pin}", json={"image": digit_data_url})
    text = client.get("/metrics").get_data(as_text=True)
    assert ('mnist_model_requests_total{route="/predict",status="200",'
            f'version="{CANDIDATE}"}} 2.0') in text
    assert f'mnist_prediction_confidence_count{{version="{PRODUCTION}"}} 1.0' in text


# --- reloading in place ---------------------------------------------------------------------

def test_a_changed_registry_is_picked_up_without_a_restart(store, digit_data_url):
    _app, client = make_client(store, poll=1)
    write_registry(store, Registry(MODEL_NAME, CANDIDATE))
    deadline = time.monotonic() + 5
    while [v["version"] for v in client.get("/models").get_json()["versions"]] != [CANDIDATE]:
        assert time.monotonic() < deadline, "the new registry was never served"
        time.sleep(0.2)
    answers = {client.post("/predict", json={"image": digit_data_url},
                           headers={"X-Client-Id": f"c{i}"}).get_json()["model"]["version"]
               for i in range(20)}
    assert answers == {CANDIDATE}


def test_a_broken_registry_change_keeps_the_old_versions_serving(store, digit_data_url):
    app, client = make_client(store)
    (store / "registry.json").write_text("{ not json")
    assert app.extensions["mnist_model"].refresh(force=True) is False
    assert client.post("/predict", json={"image": digit_data_url}).status_code == 200
    assert client.get("/models").get_json()["reload_error"] == "RegistryError"


# --- the command line -----------------------------------------------------------------------

def run_cli(store: Path, *args: str) -> int:
    return versions.main(["--models", str(store), *args])


def registry_of(store: Path) -> Registry:
    return open_store(store).registry


def test_canary_promote_and_rollback(store, mnist_npz, tmp_path):
    subset = tmp_path / "subset.npz"
    with np.load(mnist_npz) as npz:
        np.savez(subset, x_test=npz["x_test"][:300], y_test=npz["y_test"][:300])
    assert run_cli(store, "abort") == 0
    assert registry_of(store).candidate is None
    assert run_cli(store, "canary", CANDIDATE, "--weight", "0.1") == 0
    assert registry_of(store).weights == {PRODUCTION: pytest.approx(0.9), CANDIDATE: 0.1}
    assert run_cli(store, "promote", "--eval", str(subset)) == 0
    assert registry_of(store).production == CANDIDATE
    assert registry_of(store).history == (PRODUCTION,)
    assert run_cli(store, "rollback") == 0
    assert registry_of(store).production == PRODUCTION
    assert run_cli(store, "rollback") == 2  # nothing earlier to go back to


def test_promote_refuses_a_worse_candidate_unless_forced(store, mnist_npz, tmp_path):
    subset = tmp_path / "subset.npz"
    with np.load(mnist_npz) as npz:
        np.savez(subset, x_test=npz["x_test"][:300], y_test=npz["y_test"][:300])
    assert run_cli(store, "canary", SCRAMBLED, "--weight", "0.05") == 0
    assert run_cli(store, "promote", "--eval", str(subset)) == 1
    assert registry_of(store).production == PRODUCTION
    assert run_cli(store, "promote", "--eval", str(subset), "--force") == 0
    assert registry_of(store).production == SCRAMBLED


def test_canary_of_an_unknown_version_is_refused(store):
    assert run_cli(store, "canary", "eeeeeeeeeeeeeeee") == 2
    assert registry_of(store).candidate == CANDIDATE
