"""The Lambda handler answers API Gateway's events exactly as the Flask backend answers HTTP.

Both are built from the same app factory with the committed model; every answer of the
handler is compared with the Flask test client's answer to the same request.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from backend.app import create_app
from backend.serverless import build_handler, function_settings
from serverless.events import EVENT_SHAPES, answer
from tests.conftest import MODELS_ROOT
from tests.drawings import PIXEL_FORMATS, canvas_drawing, data_url, encode, number_drawing, to_image

ORIGIN = "https://page.example"
SETTINGS = {"MODEL_DIR": MODELS_ROOT, "CORS_ORIGINS": [ORIGIN]}


@pytest.fixture(scope="module")
def handler():
    return build_handler({}, SETTINGS)


@pytest.fixture(scope="module")
def flask_client():
    return create_app({**function_settings({}), **SETTINGS}).test_client()


def without_timing(body):
    """Answers match except the measured milliseconds."""
    if isinstance(body, dict):
        return {k: without_timing(v) for k, v in body.items() if k != "timing_ms"}
    if isinstance(body, list):
        return [without_timing(v) for v in body]
    return body


def both(handler, flask_client, shape, method, path, body=None, headers=None, binary=False):
    """The handler's (status, headers, json) and the Flask client's for the same request."""
    event = EVENT_SHAPES[shape](method, path, body, headers, base64_encoded=binary)
    status, got_headers, got = answer(handler(event, None))
    expected = flask_client.open(path, method=method, data=body, headers=headers or {})
    return (status, got_headers, got), (expected.status_code, expected.get_json())


def assert_same(result, expected):
    (status, headers, body), (want_status, want_body) = result, expected
    assert (status, without_timing(body)) == (want_status, without_timing(want_body))
    assert headers["content-type"] == "application/json"


def test_the_function_defaults_need_no_database():
    settings = function_settings({})
    assert settings["FEEDBACK_DATABASE_URL"] == "off"
    assert settings["MODEL_LOAD_ASYNC"] is False
    assert function_settings({"FEEDBACK_DATABASE_URL": "sqlite:///x"})[
        "FEEDBACK_DATABASE_URL"] == "sqlite:///x"


@pytest.mark.parametrize("shape", EVENT_SHAPES)
def test_base64_png_body(handler, flask_client, shape, digit_png):
    png, label = digit_png
    result, expected = both(handler, flask_client, shape, "POST", "/predict", png,
                            {"Content-Type": "image/png"}, binary=True)
    assert_same(result, expected)
    assert result[2]["digit"] == label


@pytest.mark.parametrize("shape", EVENT_SHAPES)
def test_data_url_text_body(handler, flask_client, shape, digit_data_url, digit_png):
    result, expected = both(handler, flask_client, shape, "POST", "/predict", digit_data_url,
                            {"Content-Type": "text/plain;charset=UTF-8"})
    assert_same(result, expected)
    assert result[2]["digit"] == digit_png[1]


@pytest.mark.parametrize("shape", EVENT_SHAPES)
def test_json_body_with_the_model_input(handler, flask_client, shape, digit_data_url, digit_png):
    body = json.dumps({"image": digit_data_url, "return_input": True})
    result, expected = both(handler, flask_client, shape, "POST", "/predict", body,
                            {"Content-Type": "application/json"})
    assert_same(result, expected)
    assert result[2]["digit"] == digit_png[1]
    assert len(result[2]["input"]) == 28


@pytest.mark.parametrize("shape", EVENT_SHAPES)
def test_multipart_upload(handler, flask_client, shape, digit_png):
    boundary = "----mnist-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"digit.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + \
        digit_png[0] + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    result, expected = both(handler, flask_client, shape, "POST", "/predict", body, headers,
                            binary=True)
    assert_same(result, expected)
    assert result[2]["digit"] == digit_png[1]


def blank_png() -> bytes:
    return encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))


def truncated_png(digit_png) -> bytes:
    return digit_png[0][: len(digit_png[0]) // 2]


BAD_REQUESTS = {
    # name: (method, path, body, content type, base64 in the event, expected status)
    "malformed JSON": ("POST", "/predict", '{"image": ', "application/json", False, 400),
    "deeply nested JSON": ("POST", "/predict", "[" * 10_000, "application/json", False, 400),
    "truncated PNG": ("POST", "/predict", truncated_png, "image/png", True, 400),
    "GIF": ("POST", "/predict", b"GIF89a" + bytes(64), "image/gif", True, 415),
    "unsupported type": ("POST", "/predict", "hello", "application/xml", False, 415),
    "empty drawing": ("POST", "/predict", blank_png, "image/png", True, 422),
    "empty number": ("POST", "/predict/number", blank_png, "image/png", True, 422),
    "wrong method": ("GET", "/predict", None, None, False, 405),
    "unknown route": ("POST", "/nowhere", "{}", "application/json", False, 404),
}


@pytest.mark.parametrize("shape", EVENT_SHAPES)
@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_input_gets_the_backends_4xx_json(handler, flask_client, shape, case, digit_png):
    method, path, body, content_type, binary, status = BAD_REQUESTS[case]
    body = body(digit_png) if case == "truncated PNG" else body() if callable(body) else body
    headers = {"Content-Type": content_type} if content_type else {}
    result, expected = both(handler, flask_client, shape, method, path, body, headers, binary)
    assert_same(result, expected)
    assert result[0] == status
    assert set(result[2]["error"]) == {"code", "message"}


@pytest.mark.parametrize("shape", EVENT_SHAPES)
def test_body_over_the_limit_is_413(handler, flask_client, shape):
    limit = function_settings({})["MAX_CONTENT_LENGTH"]
    result, expected = both(handler, flask_client, shape, "POST", "/predict",
                            bytes(limit + 1), {"Content-Type": "image/png"}, binary=True)
    assert_same(result, expected)
    assert result[0] == 413


@pytest.mark.parametrize("shape", EVENT_SHAPES)
def test_cors_preflight_from_the_pages_origin(handler, shape):
    request = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "content-type,x-client-id,x-model-version"}
    status, headers, _ = answer(handler(EVENT_SHAPES[shape]("OPTIONS", "/predict", None,
                                                            request), None))
    assert status == 200
    assert headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in headers["access-control-allow-methods"]
    assert "x-client-id" in headers["access-control-allow-headers"].lower()
    other = answer(handler(EVENT_SHAPES[shape]("OPTIONS", "/predict", None,
                                               {**request, "Origin": "https://evil.example"}),
                           None))
    assert "access-control-allow-origin" not in other[1]


@pytest.mark.parametrize("shape", EVENT_SHAPES)
def test_number_mode(handler, flask_client, shape, mnist_test_set):
    images, labels = mnist_test_set
    rng = np.random.default_rng(5)
    picks = rng.choice(len(images), 5, replace=False)
    ink, _ = number_drawing([images[i] for i in picks], rng)
    png = encode(to_image(ink, "rgba-alpha"))
    result, expected = both(handler, flask_client, shape, "POST", "/predict/number", png,
                            {"Content-Type": "image/png"}, binary=True)
    assert_same(result, expected)
    assert result[0] == 200
    assert result[2]["number"] == "".join(str(labels[i]) for i in picks)


def test_parity_on_the_canvas_test_drawings(handler, flask_client, mnist_test_set):
    """60 redrawn test digits, three pixel formats, both event shapes: the same answers."""
    images, _ = mnist_test_set
    rng = np.random.default_rng(14)
    for n, index in enumerate(rng.choice(len(images), 60, replace=False)):
        pixel_format = PIXEL_FORMATS[n % 3]
        image = to_image(canvas_drawing(images[index], rng), pixel_format)
        fmt = "JPEG" if image.mode == "RGB" and n % 2 else "PNG"
        body = encode(image, fmt)
        shape = list(EVENT_SHAPES)[n % 2]
        media = "image/jpeg" if fmt == "JPEG" else "image/png"
        as_json = json.dumps({"image": data_url(body, media)})
        result, expected = both(handler, flask_client, shape, "POST", "/predict", as_json,
                                {"Content-Type": "application/json"})
        assert_same(result, expected)


def test_models_answers_the_served_version(handler, flask_client):
    status, _, body = answer(handler(EVENT_SHAPES["http-api-v2"]("GET", "/models"), None))
    assert status == 200
    assert body == flask_client.get("/models").get_json()
    registry = json.loads((MODELS_ROOT / "registry.json").read_text())
    assert body["versions"][0]["version"] == registry["production"]["version"]
