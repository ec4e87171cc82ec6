"""The backend as deployed: gunicorn with its config, from the serving-only environment."""

from __future__ import annotations

import concurrent.futures
import json
import re
import subprocess
import urllib.request

import numpy as np
import pytest

from backend.images import decode_ink
from backend.preprocess import normalise_ink
from backend.runtime import LiteRTClassifier
from tests.conftest import MODEL_DIR
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
    classifier = LiteRTClassifier(MODEL_DIR / "model.tflite")
    alone = [int(np.argmax(classifier.predict(normalise_ink(decode_ink(png, 2048)))))
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
    log = server["log"].read_text()
    assert '"POST /predict?return_input=true HTTP/1.1" 200' in log
    assert "base64" not in log and "iVBOR" not in log
