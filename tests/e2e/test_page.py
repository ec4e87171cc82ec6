"""The canvas page in real Chromium, in front of real nginx and gunicorn."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.conftest import MODEL_NAME, REPO_ROOT
from tests.e2e.pointer import (
    canvas_box,
    draw_digit,
    draw_with_mouse,
    first_of_each_digit,
    number_strokes,
)
from training.strokes import digit_strokes

pytestmark = [pytest.mark.slow, pytest.mark.browser]

def probabilities(page) -> list[float]:
    """The bars' values in label order (the ten digits, then not-a-digit)."""
    bars = page.locator("#bars li")
    return [float(bars.nth(i).get_attribute("data-value")) for i in range(bars.count())]


def api_requests(page) -> list[str]:
    requests: list[str] = []
    page.on("request", lambda r: "/api/predict" in r.url and requests.append(r.url))
    return requests


# --- drawing and reading ----------------------------------------------------------------------

def test_mouse_drawn_mnist_digits_are_read(page, mnist_test_set):
    images, labels = mnist_test_set
    read = {}
    for index in first_of_each_digit(mnist_test_set):
        page.get_by_test_id("clear").click()
        response = draw_digit(page, images[index])
        assert response.status == 200
        expect(page.get_by_test_id("prediction")).to_have_text(str(response.json()["digit"]))
        read[int(labels[index])] = int(page.get_by_test_id("prediction").inner_text())
    print("\nmouse-drawn digit -> read:", read)
    assert sum(label == got for label, got in read.items()) >= 9, read
    # The result panel shows the rest of the answer too.
    expect(page.get_by_test_id("confidence")).to_contain_text("%")
    expect(page.get_by_test_id("latency")).to_contain_text("round trip")
    expect(page.get_by_test_id("latency")).to_contain_text("inference")
    assert abs(sum(probabilities(page)) - 1.0) < 1e-3
    assert page.console_errors == []


def test_model_input_preview_shows_the_28x28_image(page, mnist_test_set):
    images, _ = mnist_test_set
    response = draw_digit(page, images[0])
    served = np.array(response.json()["input"])
    shown = page.evaluate("""() => {
        const c = document.querySelector('[data-testid="model-input"]');
        const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
        return Array.from({length: 784}, (_, i) => d[4 * i]);
    }""")
    assert np.abs(np.array(shown).reshape(28, 28) / 255 - served).max() <= 1 / 255 + 1e-6
    assert served.max() > 0.9


def test_touch_drawing_reads_and_does_not_scroll(page_factory, mnist_test_set):
    images, _ = mnist_test_set
    page = page_factory(has_touch=True, viewport={"width": 900, "height": 500})
    before = page.evaluate("window.scrollY")
    response = draw_digit(page, images[first_of_each_digit(mnist_test_set)[3]], pointer="touch")
    assert response.status == 200
    expect(page.get_by_test_id("prediction")).to_have_text("3")
    assert page.evaluate("window.scrollY") == before
    assert page.evaluate("getComputedStyle(document.querySelector('#pad')).touchAction") == "none"


def test_undo_and_clear(page, mnist_test_set):
    images, _ = mnist_test_set
    draw_digit(page, images[first_of_each_digit(mnist_test_set)[7]])
    expect(page.get_by_test_id("prediction")).not_to_have_text("")
    box = canvas_box(page)
    stray = [[(box[0] + 20, box[1] + box[3] - 20), (box[0] + box[2] - 20, box[1] + box[3] - 20)]]
    with page.expect_response(lambda r: r.url.endswith("/api/predict")):
        draw_with_mouse(page, stray)
    strokes = page.evaluate("document.querySelector('#pad').toDataURL()")
    with page.expect_response(lambda r: r.url.endswith("/api/predict")):
        page.get_by_test_id("undo").click()
    expect(page.get_by_test_id("prediction")).to_have_text("7")
    assert page.evaluate("document.querySelector('#pad').toDataURL()") != strokes
    requests = api_requests(page)
    page.get_by_test_id("clear").click()
    expect(page.get_by_test_id("prediction")).to_have_text("")
    page.wait_for_timeout(600)
    assert requests == []  # clearing empties the panel without asking the server


def test_an_empty_canvas_sends_no_request(page):
    requests = api_requests(page)
    page.get_by_test_id("predict").click()
    page.get_by_test_id("canvas").focus()
    page.keyboard.press("Enter")
    page.get_by_test_id("undo").click()
    page.wait_for_timeout(800)
    assert requests == []
    expect(page.get_by_test_id("prediction")).to_have_text("")
    expect(page.get_by_test_id("error")).to_be_hidden()


# --- in-browser inference ---------------------------------------------------------------------

def test_browser_mode_matches_server_mode(page, mnist_test_set):
    images, _ = mnist_test_set
    for index in first_of_each_digit(mnist_test_set)[:5]:
        page.get_by_test_id("mode-server").check()
        page.get_by_test_id("clear").click()
        response = draw_digit(page, images[index])
        server = response.json()
        expect(page.get_by_test_id("prediction")).to_have_text(str(server["digit"]))
        requests = api_requests(page)
        page.get_by_test_id("mode-browser").check()
        expect(page.get_by_test_id("latency")).to_contain_text("in this browser", timeout=20000)
        expect(page.get_by_test_id("prediction")).to_have_text(str(server["digit"]))
        browser = probabilities(page)
        assert max(abs(a - b) for a, b in zip(browser, server["probabilities"], strict=True)) \
            <= 0.01
        assert requests == []  # the browser did it alone
    assert page.console_errors == []


def test_onnxruntime_comes_from_our_own_origin(page, stack):
    origins = []
    page.on("request", lambda r: origins.append(r.url))
    page.get_by_test_id("mode-browser").check()
    page.wait_for_function("() => performance.getEntriesByType('resource')"
                           ".some(e => e.name.endsWith('.wasm'))", timeout=20000)
    assert origins and all(url.startswith(stack.url) for url in origins), origins


def test_shared_preprocessing_vectors_in_the_browser(page):
    """frontend/static/js/preprocess.js reproduces the vectors backend/preprocess.py wrote."""
    vectors = json.loads((REPO_ROOT / "tests" / "vectors" / "preprocess.json").read_text())
    results = page.evaluate("""async (vectors) => {
        const p = await import('/static/js/preprocess.js');
        const inflate = async (b64) => {
            const zipped = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const stream = new Blob([zipped]).stream()
                .pipeThrough(new DecompressionStream('deflate'));
            return new Uint8Array(await new Response(stream).arrayBuffer());
        };
        const results = [];
        for (const v of vectors) {
            const bytes = await inflate(v.rgba_zlib);
            try { results.push(Array.from(p.preprocessRGBA(bytes, v.width, v.height))); }
            catch (e) { results.push(e.name === 'EmptyDrawing' ? 'empty' : String(e)); }
        }
        return results;
    }""", vectors["vectors"])
    for vector, got in zip(vectors["vectors"], results, strict=True):
        if vector["expected"] == "empty":
            assert got == "empty", vector["name"]
        else:
            expected = np.array(vector["expected"]).reshape(-1)
            assert np.abs(np.array(got) - expected).max() <= vectors["tolerance"], vector["name"]


# --- number mode ------------------------------------------------------------------------------

def test_number_mode_reads_a_zip_code(page, mnist_test_set):
    page.get_by_test_id("mode-number").check()
    strokes = number_strokes(page, mnist_test_set, (0, 2, 1, 3, 9))
    with page.expect_response(lambda r: r.url.endswith("/api/predict/number")) as response:
        draw_with_mouse(page, strokes)
    assert response.value.status == 200
    expect(page.get_by_test_id("number")).to_have_text("02139")
    assert [d["box"][0] for d in response.value.json()["digits"]] == sorted(
        d["box"][0] for d in response.value.json()["digits"])
    assert page.locator("#digit-list li").count() == 5


# --- failures and recovery --------------------------------------------------------------------

def test_backend_down_shows_an_error_and_recovers(page, stack, mnist_test_set):
    images, _ = mnist_test_set
    seven = images[first_of_each_digit(mnist_test_set)[7]]
    stack.stop_backend()
    try:
        response = draw_digit(page, seven)
        assert response.status == 502
        assert response.json()["error"]["code"] == "backend_unavailable"
        expect(page.get_by_test_id("error")).to_be_visible()
        expect(page.get_by_test_id("error")).to_contain_text("cannot be reached")
        expect(page.get_by_test_id("prediction")).to_have_text("")
    finally:
        stack.start_backend()
    with page.expect_response(lambda r: r.url.endswith("/api/predict")) as again:
        page.get_by_test_id("predict").click()
    assert again.value.status == 200
    expect(page.get_by_test_id("prediction")).to_have_text("7")
    expect(page.get_by_test_id("error")).to_be_hidden()


def test_a_backend_that_never_answers_times_out_with_a_message(page, mnist_test_set):
    images, _ = mnist_test_set
    config = (REPO_ROOT / "frontend" / "static" / "config.js").read_text()
    short = re.sub(r"requestTimeoutMs: \d+", "requestTimeoutMs: 1500", config)
    assert short != config
    page.route("**/static/config.js", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=short))
    hung = []
    page.route("**/api/predict", lambda route: hung.append(route))  # held, never answered
    page.reload()
    page.wait_for_selector('[data-testid="prob-9"]')

    draw_with_mouse(page, digit_strokes(images[0], canvas_box(page)))
    expect(page.get_by_test_id("error")).to_contain_text(
        "did not answer within 1.5 s", timeout=5000)
    assert len(hung) == 1
    expect(page.get_by_test_id("prediction")).to_have_text("")
    expect(page.locator("body")).not_to_have_class("busy")


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (503, {"error": {"code": "model_not_ready",
                         "message": "the model is not loaded yet; retry in a moment"}},
         "the model is not loaded yet; retry in a moment"),
        (500, "<html>Internal Server Error</html>", "The server answered 500."),
    ],
)
def test_the_backends_error_is_shown_to_the_user(page, mnist_test_set, status, body, shown):
    images, _ = mnist_test_set
    page.route("**/api/predict", lambda route: route.fulfill(
        status=status,
        content_type="application/json" if isinstance(body, dict) else "text/html",
        body=json.dumps(body) if isinstance(body, dict) else body,
    ))
    response = draw_digit(page, images[0])
    assert response.status == status
    expect(page.get_by_test_id("error")).to_be_visible()
    expect(page.get_by_test_id("error")).to_have_text(shown)
    expect(page.get_by_test_id("prediction")).to_have_text("")
    page.unroute("**/api/predict")
    with page.expect_response(lambda r: r.url.endswith("/api/predict")) as again:
        page.get_by_test_id("predict").click()
    assert again.value.status == 200
    expect(page.get_by_test_id("error")).to_be_hidden()


# --- keyboard and phone -----------------------------------------------------------------------

def test_keyboard_only_use(page, mnist_test_set):
    images, _ = mnist_test_set
    # Every control is reachable with Tab, in order, and shows a visible focus ring.
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("""() => {
            const e = document.activeElement;
            const style = getComputedStyle(e);
            return [e.dataset.testid || e.id, style.outlineStyle !== 'none'
                    && parseFloat(style.outlineWidth) > 0];
        }"""))
    focus_ring = {}
    for name, visible in reached:
        focus_ring.setdefault(name, visible)
    for control in ("mode-server", "mode-number", "canvas", "undo", "clear", "predict"):
        assert focus_ring.get(control) is True, (control, reached)
    # Draw once (a pointer is needed for that), then drive everything from the keyboard.
    draw_digit(page, images[first_of_each_digit(mnist_test_set)[4]])
    expect(page.get_by_test_id("prediction")).to_have_text("4")
    page.get_by_test_id("canvas").focus()
    page.keyboard.press("Control+z")  # undo every stroke
    for _ in range(10):
        page.keyboard.press("Control+z")
    expect(page.get_by_test_id("prediction")).to_have_text("")
    draw_digit(page, images[first_of_each_digit(mnist_test_set)[4]])
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("prediction")).to_have_text("")
    draw_digit(page, images[first_of_each_digit(mnist_test_set)[4]])
    page.get_by_test_id("canvas").focus()
    with page.expect_response(lambda r: r.url.endswith("/api/predict")):
        page.keyboard.press("Enter")
    expect(page.locator("#announcer")).to_contain_text("The model reads 4")
    # Space on the focused radio switches the inference location.
    page.get_by_test_id("mode-browser").focus()
    page.keyboard.press("Space")
    expect(page.get_by_test_id("mode-browser")).to_be_checked()


def test_phone_layout(page_factory, mnist_test_set):
    images, _ = mnist_test_set
    page = page_factory(viewport={"width": 390, "height": 844}, device_scale_factor=3,
                        is_mobile=True, has_touch=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = page.get_by_test_id("canvas").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] >= 250
    for control in ("undo", "clear", "predict"):
        assert page.get_by_test_id(control).bounding_box()["height"] >= 44
    response = draw_digit(page, images[first_of_each_digit(mnist_test_set)[2]], pointer="touch")
    assert response.status == 200
    expect(page.get_by_test_id("prediction")).to_have_text("2")
    # The backing store follows the screen's pixel ratio: crisp lines on a 3x phone.
    inner = page.evaluate("document.querySelector('#pad').clientWidth")
    assert page.evaluate("document.querySelector('#pad').width") == round(inner * 3)


def test_model_info_is_shown(page):
    expect(page.get_by_test_id("model-info")).to_contain_text(MODEL_NAME)
    expect(page.get_by_test_id("model-info")).to_contain_text("% on the MNIST test set")


def test_data_url_bodies_are_small_png(page, mnist_test_set):
    """What the page posts is a half-scale PNG of the pad, whatever the screen's pixel ratio."""
    images, _ = mnist_test_set
    response = draw_digit(page, images[0])
    body = json.loads(response.request.post_data)
    assert body["return_input"] is True
    png = base64.b64decode(body["image"].split(",", 1)[1])
    width = int.from_bytes(png[16:20], "big")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert width == round(page.evaluate("document.querySelector('#pad').clientWidth") * 0.5)
