"""The backend as deployed: gunicorn with its config, from the serving-only environment."""

from __future__ import annotations

import concurrent.futures
import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request

import numpy as np
import pytest

from backend import versions
from backend.contract import read_contract
from backend.images import decode_ink
from backend.preprocess import normalise_ink
from backend.registry import Registry, open_store, write_registry
from backend.runtime import LiteRTClassifier
from tests.backend.test_versions import CANDIDATE, add_version
from tests.conftest import MODEL_DIR, MODELS_ROOT
from tests.drawings import data_url, encode, to_image
from tests.servers import SERVE_VENV, free_port, post, start_gunicorn, stop, wait_for_http

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    port = free_port()
    process = start_gunicorn(port, workers=2, log_path=log)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ready", process=process)
        yield {"url": f"http://127.0.0.1:{port}", "log": log, "process": process}
    finally:
        stop(process)


def canvas_png(image: np.ndarray) -> bytes:
    canvas = np.zeros((280, 280))
    canvas[70:210, 70:210] = np.kron(image / 255.0, np.ones((5, 5)))
    return encode(to_image(canvas, "rgba-alpha"))


def test_the_serving_environment_has_no_tensorflow():
    result = subprocess.run([str(SERVE_VENV / "bin" / "python"), "-c", "import tensorflow"],
                            capture_output=True)
    assert result.returncode != 0
    assert b"No module named 'tensorflow'" in result.stderr


def test_concurrent_predictions_each_get_their_own_answer(server, mnist_test_set):
    """The old app shared one output.png between requests: 64 different digits at once must
    each get exactly the answer that digit gets alone."""
    images, _ = mnist_test_set
    pngs = [canvas_png(images[i]) for i in range(64)]
    contract = read_contract(MODEL_DIR)
    classifier = LiteRTClassifier(MODEL_DIR / contract.file_for("litert"))
    alone = [contract.answer(classifier.predict(normalise_ink(decode_ink(png, 2048))))["digit"]
             for png in pngs]
    bodies = [json.dumps({"image": data_url(png)}).encode() for png in pngs]

    def call(body: bytes) -> tuple[int, dict]:
        return post(f"{server['url']}/predict", body, "application/json")

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(call, bodies))
    assert [status for status, _ in results] == [200] * 64
    assert [body["digit"] for _, body in results] == alone
    assert len(set(alone)) == 10  # the batch really mixes all ten digits


def test_errors_are_json_through_gunicorn(server):
    status, body = post(f"{server['url']}/predict", b"\x00" * (1024 * 1024 + 10), "image/png")
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    status, body = post(f"{server['url']}/predict", b"nope", "application/json")
    assert status == 400 and body["error"]["code"] == "invalid_json"
    blank = json.dumps({"image": data_url(encode(to_image(np.zeros((50, 50)), "rgba-alpha")))})
    status, body = post(f"{server['url']}/predict", blank.encode(), "application/json")
    assert status == 422 and body["error"]["code"] == "empty_drawing"


def test_metrics_add_up_all_workers(server, mnist_test_set):
    images, _ = mnist_test_set
    body = json.dumps({"image": data_url(canvas_png(images[5]))}).encode()
    before = _predict_200_count(server["url"])
    for _ in range(20):
        assert post(f"{server['url']}/predict", body, "application/json")[0] == 200
    # 20 requests spread over 2 worker processes; /metrics is answered by one of them.
    assert _predict_200_count(server["url"]) == before + 20


def _predict_200_count(url: str) -> float:
    text = urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode()
    match = re.search(
        r'mnist_http_requests_total\{method="POST",route="/predict",status="200"\} (\S+)', text)
    return float(match.group(1)) if match else 0.0


def test_access_log_has_requests_but_no_image_data(server, digit_data_url):
    post(f"{server['url']}/predict?return_input=true",
         json.dumps({"image": digit_data_url}).encode(), "application/json")
    line = '"POST /predict?return_input=true HTTP/1.1" 200'
    # The worker writes the access line after the answer has left: on a busy machine the
    # client can read the log first.
    deadline = time.monotonic() + 5
    while line not in (log := server["log"].read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert line in log
    assert "base64" not in log and "iVBOR" not in log


def test_promote_and_rollback_under_load_drop_no_request(tmp_path, digit_data_url):
    """16 clients post without pause while the candidate is promoted and rolled back: every
    request gets its 200, and the answers move from one version to the other and back."""
    production = open_store(MODELS_ROOT).registry
    shutil.copytree(MODEL_DIR, tmp_path / production.model / production.production)
    add_version(tmp_path, CANDIDATE)
    write_registry(tmp_path, Registry(production.model, production.production, CANDIDATE, 0.1))
    port = free_port()
    process = start_gunicorn(port, workers=2, log_path=tmp_path / "gunicorn.log",
                             env={"MODEL_DIR": str(tmp_path), "REGISTRY_POLL_SECONDS": "1"})
    url = f"http://127.0.0.1:{port}"
    body = json.dumps({"image": digit_data_url}).encode()
    answers: list[tuple[float, int, str | None]] = []
    done = threading.Event()

    def client(index: int) -> None:
        while not done.is_set():
            status, answer = post(f"{url}/predict", body, "application/json")
            answers.append((time.monotonic(), status,
                            answer.get("model", {}).get("version") if status == 200 else None))

    try:
        wait_for_http(f"{url}/ready", process=process)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        assert versions.main(["--models", str(tmp_path), "promote", "--force"]) == 0
        promoted = time.monotonic()
        time.sleep(3.5)
        assert versions.main(["--models", str(tmp_path), "rollback"]) == 0
        rolled_back = time.monotonic()
        time.sleep(3.5)
        done.set()
        for thread in threads:
            thread.join()
    finally:
        done.set()
        stop(process)
    assert len(answers) > 200
    assert [status for _, status, _ in answers if status != 200] == []
    # Within the poll interval (plus a load) of each change, only the new production answers.
    between = {v for t, _, v in answers if promoted + 2.5 < t < rolled_back}
    after = {v for t, _, v in answers if t > rolled_back + 2.5}
    assert between == {CANDIDATE}
    assert after == {production.production}
