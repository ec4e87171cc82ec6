"""The nginx tier with the project's config: static files, headers, proxy, limits, JSON errors."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from backend.config import serving_defaults
from backend.registry import open_store
from tests.conftest import MODELS_ROOT
from tests.drawings import data_url
from tests.servers import fetch

pytestmark = pytest.mark.slow


def test_page_has_security_headers_and_is_revalidated(stack):
    status, headers, body = fetch(stack.url + "/")
    assert status == 200 and b'data-testid="canvas"' in body
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "http" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-cache"
    assert "nginx/" not in headers.get("Server", "")


def test_static_files_are_cached_and_gzipped(stack):
    status, headers, body = fetch(stack.url + "/static/js/app.js",
                                  headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert b"DrawingPad" in gzip.decompress(body)
    assert headers["Cache-Control"] == "max-age=3600"
    assert "Content-Security-Policy" in headers  # headers on every response, not just the page


_REGISTRY = open_store(MODELS_ROOT).registry
PRODUCTION_PATH = f"{_REGISTRY.model}/{_REGISTRY.production}"


def test_onnxruntime_and_model_files_are_served_with_the_right_types(stack):
    status, headers, _ = fetch(stack.url + "/static/vendor/onnxruntime-web/ort.wasm.min.mjs")
    assert status == 200 and headers["Content-Type"].startswith("application/javascript")
    status, headers, _ = fetch(stack.url
                               + "/static/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm")
    assert status == 200 and headers["Content-Type"] == "application/wasm"
    status, _, body = fetch(f"{stack.url}/models/{PRODUCTION_PATH}/model.onnx")
    assert status == 200 and len(body) > 100_000
    status, headers, body = fetch(f"{stack.url}/models/{PRODUCTION_PATH}/metadata.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["version"] == PRODUCTION_PATH.split("/")[1]


@pytest.mark.parametrize("path", [
    f"/models/{PRODUCTION_PATH}/model.keras", f"/models/{PRODUCTION_PATH}/model.tflite",
    "/models/registry.json", f"/models/{PRODUCTION_PATH}/../../registry.json",
    "/nginx/mnist.conf.template", "/package.json", "/node_modules/", "/scripts/vendor.mjs"])
def test_nothing_else_is_served(stack, path):
    assert fetch(stack.url + path)[0] == 404


def test_api_is_proxied_to_the_backend(stack, digit_data_url, digit_png):
    status, _, body = fetch(stack.url + "/api/predict",
                            data=json.dumps({"image": digit_data_url}).encode(),
                                  headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)["digit"] == digit_png[1]
    status, _, body = fetch(stack.url + "/api/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_bodies_over_the_backend_limit_get_json_413_from_nginx(stack):
    big = data_url(b"\0" * (1024 * 1024)).encode()
    status, headers, body = fetch(stack.url + "/api/predict", data=big,
                                  headers={"Content-Type": "text/plain"})
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "payload_too_large"
    assert serving_defaults()["MAX_CONTENT_LENGTH"] in error["message"]


def test_feedback_has_a_body_limit_of_its_own(stack):
    limit = int(serving_defaults()["FEEDBACK_MAX_BYTES"])
    body = b'{"id": "' + b" " * limit + b'"}'
    status, headers, answer = fetch(stack.url + "/api/feedback", data=body,
                                    headers={"Content-Type": "application/json"})
    assert status == 413 and headers["Content-Type"] == "application/json"
    error = json.loads(answer)["error"]
    assert error["code"] == "payload_too_large" and str(limit) in error["message"]


def test_feedback_has_a_rate_budget_of_its_own_with_json_429s(stack):
    statuses = []
    for _ in range(40):
        status, headers, body = fetch(stack.url + "/api/feedback", data=b"{}",
                                      headers={"Content-Type": "application/json"})
        statuses.append(status)
        if status == 429:
            assert headers["Content-Type"] == "application/json"
            assert json.loads(body)["error"]["code"] == "rate_limited"
    burst = int(serving_defaults()["FEEDBACK_BURST"])
    # The backend's own 400s first (an empty answer), then nginx's 429s past the burst.
    assert statuses[0] == 400 and 429 in statuses
    assert statuses.index(429) <= burst + 3
    time.sleep(6)  # let both buckets refill for the tests that follow


def test_api_rate_limit_answers_json_429(stack):
    statuses = []
    for _ in range(120):
        status, headers, body = fetch(stack.url + "/api/health")
        statuses.append(status)
        if status == 429:
            assert json.loads(body)["error"]["code"] == "rate_limited"
            assert headers["Content-Type"] == "application/json"
    assert statuses[0] == 200 and 429 in statuses
    time.sleep(3)  # let the bucket refill for the tests that follow


def test_metrics_are_not_served_to_the_public(stack):
    status, headers, body = fetch(stack.url + "/api/metrics")
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "not_found"
    direct, _, text = fetch(f"http://127.0.0.1:{stack.backend_port}/metrics")
    assert direct == 200 and b"mnist_http_requests" in text  # scrapers reach the backend


def test_a_slow_client_is_cut_off_after_the_header_timeout(stack):
    """A slowloris client that never finishes its header is dropped in seconds, not a minute."""
    import socket

    host, port = stack.url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")  # and nothing more
        try:
            while sock.recv(4096):
                pass
        except ConnectionResetError:
            pass  # reset_timedout_connection: a RST, not a polite FIN
    elapsed = time.monotonic() - started
    assert 4 <= elapsed <= 10, elapsed  # client_header_timeout 5s (nginx's default is 60 s)
