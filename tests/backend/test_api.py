"""The HTTP API with the real model: every accepted body, every status code, JSON everywhere."""

from __future__ import annotations

import base64
import builtins
import io
import tempfile
import time

import numpy as np
import pytest
from PIL import Image

from backend.app import create_app
from backend.contract import read_contract
from tests.conftest import MODEL_DIR, MODEL_NAME, MODELS_ROOT
from tests.drawings import data_url, encode, to_image


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def assert_prediction(response, digit: int) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["digit"] == digit
    assert len(body["probabilities"]) == len(read_contract(MODEL_DIR).labels)
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert body["confidence"] == max(body["probabilities"])
    assert body["model"]["name"] == MODEL_NAME and body["model"]["version"]
    assert set(body["timing_ms"]) == {"preprocess", "inference", "total"}
    assert body["timing_ms"]["total"] >= body["timing_ms"]["inference"] > 0
    return body


# --- the four ways to send an image ----------------------------------------------------------

def test_a_drawing_that_is_no_digit_answers_digit_null(client):
    """Kinds of non-digits never trained on: 200, digit null, the reason, and the probabilities
    the model computed; the confidence is that of not-a-digit."""
    from training.negatives import VALIDATION_KINDS

    rng = np.random.default_rng(99)
    answers = []
    for kind in ("star", "grid", "zigzag", "word"):
        for _ in range(3):
            drawing = VALIDATION_KINDS[kind](rng).astype(np.float64) / 255.0
            response = client.post("/predict", json={"image": data_url(encode(to_image(
                drawing, "rgba-alpha")))})
            assert response.status_code == 200
            answers.append(response.get_json())
    rejected = [a for a in answers if a["digit"] is None]
    assert len(rejected) >= 10, [a["digit"] for a in answers]
    labels = client.get("/model").get_json()["labels"]
    for answer in rejected:
        assert answer["reason"] == "not_a_digit"
        assert len(answer["probabilities"]) == len(labels)
        assert answer["confidence"] == max(answer["probabilities"])
        assert answer["probabilities"][labels.index("not_a_digit")] == answer["confidence"]


def test_json_with_a_data_url(client, digit_data_url, digit_png):
    body = assert_prediction(client.post("/predict", json={"image": digit_data_url}), digit_png[1])
    assert "input" not in body


def test_json_with_bare_base64_and_the_model_input(client, digit_png):
    bare = base64.b64encode(digit_png[0]).decode()
    body = assert_prediction(client.post("/predict", json={"image": bare, "return_input": True}),
                             digit_png[1])
    model_input = np.array(body["input"])
    assert model_input.shape == (28, 28)
    assert model_input.min() >= 0 and model_input.max() <= 1 and model_input.max() > 0.9


def test_raw_data_url_body_as_canvas_to_data_url_posts_it(client, digit_data_url, digit_png):
    # fetch(url, {method: "POST", body: canvas.toDataURL()}) sends text/plain;charset=UTF-8
    response = client.post("/predict", data=digit_data_url,
                           content_type="text/plain;charset=UTF-8")
    assert_prediction(response, digit_png[1])


def test_raw_data_url_without_content_type(client, digit_data_url, digit_png):
    response = client.post("/predict?return_input=true", data=digit_data_url, content_type="")
    assert "input" in assert_prediction(response, digit_png[1])


def test_multipart_png_upload(client, digit_png):
    response = client.post("/predict", data={"file": (io.BytesIO(digit_png[0]), "digit.png")},
                           content_type="multipart/form-data")
    assert_prediction(response, digit_png[1])


def test_multipart_jpeg_photo_of_dark_ink_on_paper(client, mnist_test_set):
    images, labels = mnist_test_set
    ink = np.kron(images[1] / 255.0, np.ones((6, 6)))
    jpeg = encode(to_image(ink, "rgb-dark-on-light"), "JPEG", quality=85)
    response = client.post("/predict", data={"file": (io.BytesIO(jpeg), "photo.jpg"),
                                             "return_input": "1"},
                           content_type="multipart/form-data")
    assert "input" in assert_prediction(response, int(labels[1]))


def test_raw_png_body(client, digit_png):
    response = client.post("/predict", data=digit_png[0], content_type="image/png")
    assert_prediction(response, digit_png[1])


# --- 400: malformed ---------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", "invalid_json"),
    (b"\xff\xfe\x00", "invalid_json"),
    (b"[1, 2, 3]", "missing_image"),
    (b'{"picture": "abc"}', "missing_image"),
    (b'{"image": 42}', "missing_image"),
    (b'{"image": "data:image/png;base64,@@@not-base64@@@"}', "invalid_base64"),
    (b'{"image": "data:image/png,notbase64encoded"}', "invalid_data_url"),
    (b'{"image": "\\u00e9t\\u00e9"}', "invalid_base64"),
    (b'{"image": ""}', "empty_image"),
    (b'{"image": "aGVsbG8gd29ybGQ="}', "invalid_image"),  # base64 of "hello world"
])
def test_malformed_json_bodies_are_400(client, body, code):
    assert_error(client.post("/predict", data=body, content_type="application/json"), 400, code)


def test_return_input_must_be_a_boolean(client, digit_data_url):
    response = client.post("/predict", json={"image": digit_data_url, "return_input": "yes"})
    assert_error(response, 400, "invalid_field")


def test_truncated_png_is_400(client, digit_png):
    truncated = digit_png[0][: len(digit_png[0]) // 2]
    assert_error(client.post("/predict", data=truncated, content_type="image/png"), 400,
                 "invalid_image")


def test_multipart_without_file_field_is_400(client, digit_png):
    response = client.post("/predict", data={"image": (io.BytesIO(digit_png[0]), "d.png")},
                           content_type="multipart/form-data")
    assert_error(response, 400, "missing_file")


# --- 415: unsupported -------------------------------------------------------------------------

def gif_bytes() -> bytes:
    return encode(Image.new("L", (10, 10), 255), "GIF")


def test_unsupported_content_type_is_415(client):
    assert_error(client.post("/predict", data=b"<digit/>", content_type="application/xml"), 415,
                 "unsupported_media_type")


@pytest.mark.parametrize("send", ["data-url", "multipart", "raw"])
def test_unsupported_image_formats_are_415(client, send):
    gif = gif_bytes()
    if send == "data-url":
        response = client.post("/predict", json={"image": data_url(gif, "image/gif")})
    elif send == "multipart":
        response = client.post("/predict", data={"file": (io.BytesIO(gif), "d.gif")},
                               content_type="multipart/form-data")
    else:
        response = client.post("/predict", data=gif, content_type="image/gif")
    assert_error(response, 415, "unsupported_image_format")


def test_gif_bytes_labelled_as_png_are_415(client):
    assert_error(client.post("/predict", data=gif_bytes(), content_type="image/png"), 415,
                 "unsupported_image_format")


# --- 413: too large ---------------------------------------------------------------------------

def test_body_over_max_content_length_is_413(client):
    body = b"data:image/png;base64," + b"A" * (1024 * 1024)
    assert_error(client.post("/predict", data=body, content_type="text/plain"), 413,
                 "payload_too_large")


def test_image_over_2048_pixels_is_refused_before_decoding(client, monkeypatch):
    # 10000 x 10000 blank pixels compress to a few KB: a decompression bomb.
    bomb = encode(Image.new("1", (10000, 10000), 0), "PNG", optimize=True)
    assert len(bomb) < 100_000
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)
    assert_error(client.post("/predict", data=bomb, content_type="image/png"), 413,
                 "image_too_large")
    assert decoded == []  # the pixels were never decoded


def test_huge_bomb_past_pillows_own_guard_is_413_not_500(client):
    bomb = encode(Image.new("1", (20000, 20000), 0), "PNG", optimize=True)
    assert_error(client.post("/predict", data=bomb, content_type="image/png"), 413,
                 "image_too_large")


def test_image_just_over_the_limit_in_one_dimension_is_413(client):
    wide = encode(Image.new("L", (2049, 4), 255), "PNG")
    assert_error(client.post("/predict", data=wide, content_type="image/png"), 413,
                 "image_too_large")


# --- 405, 404, 422 ----------------------------------------------------------------------------

def test_get_on_predict_is_405_with_allow_header(client):
    response = client.get("/predict")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_unknown_route_is_json_404(client):
    assert_error(client.get("/nope"), 404, "not_found")


@pytest.mark.parametrize("pixel_format", ["rgba-alpha", "rgb-dark-on-light", "grey-light-on-dark"])
def test_empty_drawing_is_422_never_a_guess(client, pixel_format):
    blank = encode(to_image(np.zeros((280, 280)), pixel_format))
    for route in ("/predict", "/predict/number"):
        assert_error(client.post(route, json={"image": data_url(blank)}), 422, "empty_drawing")


# --- health, readiness, model, metrics --------------------------------------------------------

def test_health_and_ready(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.get_json()["model"]["name"] == MODEL_NAME


def test_model_returns_the_metadata(client):
    body = client.get("/model").get_json()
    assert body["name"] == MODEL_NAME
    assert body["test_accuracy"] >= 0.996
    assert body["runtime"] == "litert"


def test_a_broken_model_dir_is_not_ready_and_predict_is_503(tmp_path, digit_data_url):
    broken = create_app({"MODEL_DIR": tmp_path, "MODEL_LOAD_ASYNC": False}).test_client()
    assert broken.get("/health").status_code == 200
    ready = broken.get("/ready")
    assert ready.status_code == 503
    assert ready.get_json()["status"] == "failed"
    # The kind of failure, never a file path of the server (that is in the log).
    assert ready.get_json()["error"] == "RegistryError"
    assert str(tmp_path) not in ready.get_data(as_text=True)
    response = broken.post("/predict", json={"image": digit_data_url})
    assert_error(response, 503, "model_not_ready")
    assert str(tmp_path) not in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "1"


def test_background_loading_becomes_ready():
    app = create_app({"MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": True})
    client = app.test_client()
    deadline = time.monotonic() + 30
    while client.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, "model never became ready"
        time.sleep(0.05)
    assert app.extensions["mnist_model"].ready


def test_metrics_count_requests_latency_and_digits(digit_data_url, digit_png):
    client = create_app({"MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": False}).test_client()
    for _ in range(3):
        client.post("/predict", json={"image": digit_data_url})
    client.get("/predict")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'mnist_http_requests_total{method="POST",route="/predict",status="200"} 3.0' in text
    assert 'mnist_http_requests_total{method="GET",route="/predict",status="405"} 1.0' in text
    assert 'mnist_http_request_duration_seconds_count{route="/predict"} 4.0' in text
    version = client.get("/model").get_json()["version"]
    assert (f'mnist_predictions_total{{digit="{digit_png[1]}",route="/predict",'
            f'version="{version}"}} 3.0') in text
    assert (f'mnist_model_requests_total{{route="/predict",status="200",version="{version}"}} 3.0'
            in text)
    assert f'mnist_prediction_confidence_count{{version="{version}"}} 3.0' in text


# --- CORS -------------------------------------------------------------------------------------

def test_no_cors_headers_by_default(client):
    response = client.get("/health", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_allowlist():
    app = create_app({"MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": False,
                      "CORS_ORIGINS": ["https://app.example"]})
    client = app.test_client()
    allowed = client.get("/health", headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    other = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


# --- nothing a user sends touches the disk ----------------------------------------------------

def test_requests_write_nothing_to_disk(client, digit_png, monkeypatch):
    writes = []
    real_open = builtins.open

    def watching_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            writes.append(file)
        return real_open(file, mode, *args, **kwargs)

    def no_temp_files(*args, **kwargs):
        writes.append("tempfile")
        raise AssertionError("a temporary file was created")

    monkeypatch.setattr(builtins, "open", watching_open)
    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_temp_files)
    # A large multipart upload: werkzeug would spool anything over 500 KB to a temp file.
    padded = digit_png[0] + b"\0" * 700_000  # PNG readers ignore trailing bytes
    response = client.post("/predict", data={"file": (io.BytesIO(padded), "big.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert client.post("/predict", data=digit_png[0], content_type="image/png").status_code == 200
    assert writes == []


# --- the optional Keras runtime ---------------------------------------------------------------

@pytest.mark.slow
def test_keras_runtime_agrees_with_litert(client, digit_data_url):
    keras_app = create_app({"MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": False,
                            "MODEL_RUNTIME": "keras"})
    keras_body = keras_app.test_client().post("/predict", json={"image": digit_data_url})
    litert_body = client.post("/predict", json={"image": digit_data_url}).get_json()
    assert keras_body.status_code == 200
    assert keras_app.test_client().get("/ready").get_json()["runtime"] == "keras"
    assert np.allclose(keras_body.get_json()["probabilities"], litert_body["probabilities"],
                       atol=1e-5)


def test_unknown_runtime_is_a_configuration_error():
    with pytest.raises(ValueError, match="MODEL_RUNTIME"):
        create_app({"MODEL_DIR": MODELS_ROOT, "MODEL_RUNTIME": "torch"})
