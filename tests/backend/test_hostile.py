"""Regression tests for the small, well-formed requests that used to take the backend down.

Each class of hostile input gets a JSON 4xx (or a bounded 200), never a 500, a hang or a
killed worker. How long each one takes is measured by benchmarks/hostile.py, not here.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import ImageFile

from backend.jpeg import MAX_SCANS, walk_jpeg
from backend.preprocess import WEIGHTS_CACHE_BYTES, WORK_PIXELS, resample_weights
from tests.drawings import encode, to_image
from tests.hostile import (
    deep_json,
    dot_grid_png,
    noise_png,
    scan_bomb_jpeg,
    text_chunk_bomb_png,
)


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.is_json
    assert response.get_json()["error"]["code"] == code


# --- JPEG scans -----------------------------------------------------------------------------

def test_real_encoders_write_few_scans():
    image = to_image(np.eye(64), "rgb-dark-on-light")
    assert walk_jpeg(encode(image, "JPEG")).scans == 1
    progressive = walk_jpeg(encode(image.convert("RGB"), "JPEG", progressive=True))
    assert progressive.complete and 1 < progressive.scans <= 12


def test_a_scan_bomb_is_refused_before_any_pixel_is_decoded(client, monkeypatch):
    bomb = scan_bomb_jpeg(side=512, repeats=200)
    structure = walk_jpeg(bomb)
    assert structure.scans == MAX_SCANS + 1 and not structure.complete  # stopped early

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("the bomb reached the decoder")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    response = client.post("/predict", data=bomb, content_type="image/jpeg")
    assert_json_error(response, 422, "too_many_jpeg_scans")


def test_garbage_between_scans_does_not_hide_them(client):
    """libjpeg skips bytes that are not markers, so the count must skip them too."""
    bomb = scan_bomb_jpeg(side=256, repeats=60)
    hidden = bomb.replace(b"\xff\xda", b"junk\xff\xda")  # before every scan header
    assert walk_jpeg(hidden).scans > MAX_SCANS
    response = client.post("/predict", data=hidden, content_type="image/jpeg")
    assert_json_error(response, 422, "too_many_jpeg_scans")


def test_a_jpeg_of_endless_tiny_segments_is_refused(client):
    image = encode(to_image(np.eye(32), "rgb-dark-on-light"), "JPEG")
    comments = b"\xff\xfe\x00\x02" * 2000  # 2,000 empty comment segments after SOI
    response = client.post("/predict", data=image[:2] + comments + image[2:],
                           content_type="image/jpeg")
    assert_json_error(response, 422, "too_many_jpeg_segments")


def test_a_progressive_jpeg_within_the_limit_is_read(client, digit_png):
    from PIL import Image

    photo = Image.open(io.BytesIO(digit_png[0])).convert("LA")
    paper = Image.new("L", photo.size, 255)
    paper.paste(0, mask=photo.getchannel("A"))
    response = client.post("/predict", data=encode(paper, "JPEG", progressive=True),
                           content_type="image/jpeg")
    assert response.status_code == 200
    assert response.get_json()["digit"] == digit_png[1]


# --- components -----------------------------------------------------------------------------

@pytest.mark.parametrize("route", ["/predict", "/predict/number"])
def test_a_dot_grid_is_answered_not_labelled_forever(client, route):
    response = client.post(route, data=dot_grid_png(), content_type="image/png")
    if route == "/predict":
        assert response.status_code == 200  # one "digit": the grid's box, read once
    else:
        assert_json_error(response, 422, "too_many_digits")


@pytest.mark.parametrize("route", ["/predict", "/predict/number"])
def test_large_noise_is_worked_on_at_the_small_working_size(client, route):
    response = client.post(route, data=noise_png(side=2048), content_type="image/png")
    assert response.status_code in (200, 422), response.get_data(as_text=True)[:300]
    assert response.is_json
    if response.status_code == 422:
        assert response.get_json()["error"]["code"] in ("too_many_digits", "empty_drawing")


def test_a_noisy_photo_of_a_zip_code_is_still_read(client, mnist_test_set):
    """Specks are dropped by mass before the count is judged: noise is not 'too many digits'."""
    from tests.drawings import number_drawing

    images, labels = mnist_test_set
    picks = [3, 2, 1, 18, 4]
    ink, _ = number_drawing([images[i] for i in picks], np.random.default_rng(3))
    rng = np.random.default_rng(4)
    specks = (rng.random(ink.shape) < 0.01) * rng.uniform(0.3, 1.0, ink.shape)
    page = to_image(np.maximum(ink, specks), "rgb-dark-on-light")
    response = client.post("/predict/number", data=encode(page, "JPEG", quality=85),
                           content_type="image/jpeg")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["number"] == "".join(str(labels[i]) for i in picks)


# --- bodies and metadata --------------------------------------------------------------------

def test_deeply_nested_json_is_400(client):
    response = client.post("/predict", data=deep_json(), content_type="application/json")
    assert_json_error(response, 400, "json_too_deep")


def test_png_text_chunks_cannot_inflate_to_tens_of_mb(client):
    response = client.post("/predict", data=text_chunk_bomb_png(), content_type="image/png")
    assert_json_error(response, 400, "invalid_image")


def test_the_resampling_cache_is_bounded_in_bytes():
    for size_in in range(1500, 2048):  # odd sizes, each a new ~80-160 KB matrix
        resample_weights(size_in, 20)
    cache = resample_weights.cache
    assert cache.currsize <= WEIGHTS_CACHE_BYTES == cache.maxsize


def test_big_uploads_are_never_worked_on_above_the_working_size(client):
    from backend.images import decode_drawing

    drawing = decode_drawing(noise_png(side=2048, density=0.2), 2048)
    assert drawing.ink.size <= WORK_PIXELS and drawing.scale == 8


# --- metrics labels -------------------------------------------------------------------------

def test_made_up_methods_share_one_metrics_label():
    from backend.app import create_app
    from tests.conftest import MODELS_ROOT

    client = create_app({"MODEL_DIR": MODELS_ROOT, "MODEL_LOAD_ASYNC": False}).test_client()
    for i in range(30):
        assert client.open("/predict", method=f"MADEUP{i}").status_code == 405
        assert client.open(f"/nowhere/{i}", method=f"BOGUS{i}").status_code == 404
    text = client.get("/metrics").get_data(as_text=True)
    assert 'method="OTHER"' in text
    assert "MADEUP" not in text and "BOGUS" not in text and "/nowhere" not in text


# --- canvas PNGs (libspng fast path) --------------------------------------------------------

def test_a_canvas_png_reaches_the_decoder_without_its_metadata(client, digit_png):
    from backend.png import decode_rgba8, pixel_chunks
    from tests.hostile import _chunk

    canvas = digit_png[0]
    text = _chunk(b"tEXt", b"comment\x00" + b"x" * 100_000)
    with_text = canvas[:-12] + text + canvas[-12:]  # after IDAT, before IEND
    assert pixel_chunks(with_text) == pixel_chunks(canvas)  # the text never reaches libspng
    assert np.array_equal(decode_rgba8(with_text), decode_rgba8(canvas))
    response = client.post("/predict", data=with_text, content_type="image/png")
    assert response.status_code == 200 and response.get_json()["digit"] == digit_png[1]


def test_a_png_of_endless_chunks_is_left_to_pillow_and_refused(client, digit_png):
    from backend.png import MAX_CHUNKS, pixel_chunks
    from tests.hostile import _chunk

    canvas = digit_png[0]
    padded = canvas[:33] + _chunk(b"abCd", b"") * (MAX_CHUNKS + 1) + canvas[33:]
    assert pixel_chunks(padded) is None
    response = client.post("/predict", data=padded, content_type="image/png")
    assert response.status_code in (200, 400) and response.is_json  # Pillow's verdict


def test_a_corrupt_canvas_png_is_400(client, digit_png):
    canvas = bytearray(digit_png[0])
    idat = canvas.index(b"IDAT")
    canvas[idat + 20 : idat + 40] = b"\x00" * 20  # broken compressed data (and CRC)
    response = client.post("/predict", data=bytes(canvas), content_type="image/png")
    assert_json_error(response, 400, "invalid_image")
