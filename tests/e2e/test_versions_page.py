"""The page and model versions: it loads the production version's ONNX file, says which
version answered, and compares the versions being served side by side."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backend.registry import open_store
from tests.backend.test_versions import CANDIDATE, PRODUCTION
from tests.conftest import MODELS_ROOT
from tests.e2e.pointer import draw_digit, first_of_each_digit

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_in_browser_mode_loads_the_production_versions_onnx(page):
    registry = open_store(MODELS_ROOT).registry
    with page.expect_response(lambda r: r.url.endswith(".onnx")) as response:
        page.get_by_test_id("mode-browser").check()
    assert response.value.status == 200
    assert response.value.url.endswith(f"/models/{registry.model}/{registry.production}/"
                                       "model.onnx")


def test_each_answer_names_the_version_that_read_it(page, mnist_test_set):
    images, _ = mnist_test_set
    production = open_store(MODELS_ROOT).registry.production
    draw_digit(page, images[first_of_each_digit(mnist_test_set)[3]])
    expect(page.get_by_test_id("answered-by")).to_have_text(f"read by version {production}")


def test_one_version_served_hides_the_comparison(page):
    expect(page.get_by_test_id("mode-compare")).to_be_hidden()


def test_compare_versions_side_by_side(page_factory, versions_stack, mnist_test_set):
    images, _ = mnist_test_set
    page = page_factory(on=versions_stack)
    expect(page.get_by_test_id("model-info")).to_contain_text(f"candidate {CANDIDATE} serves 50%")
    page.get_by_test_id("mode-compare").check()
    pinned = []
    page.on("request", lambda r: "/api/predict" in r.url
            and pinned.append(r.headers.get("x-model-version")))
    draw_digit(page, images[first_of_each_digit(mnist_test_set)[4]])
    expect(page.get_by_test_id("compare-candidate")).to_contain_text(CANDIDATE)
    for role, version in (("production", PRODUCTION), ("candidate", CANDIDATE)):
        entry = page.get_by_test_id(f"compare-{role}")
        expect(entry).to_contain_text(version)
        expect(entry).to_contain_text("4")
    assert {PRODUCTION, CANDIDATE} <= set(pinned)


def test_a_client_keeps_its_version(page_factory, versions_stack, mnist_test_set):
    """The page's client id routes every drawing of one visitor to the same version."""
    images, _ = mnist_test_set
    page = page_factory(on=versions_stack)
    seen = set()
    for digit in (1, 2, 3):
        response = draw_digit(page, images[first_of_each_digit(mnist_test_set)[digit]])
        seen.add(response.json()["model"]["version"])
        page.get_by_test_id("clear").click()
    assert len(seen) == 1


def test_server_and_browser_answer_alike_on_the_shared_vectors(page):
    """The same drawings, including non-digits, read by the backend (preprocess.py, LiteRT)
    and by the page (preprocess.js, onnxruntime-web): the same answer, the same numbers."""
    import base64
    import json
    import zlib

    import numpy as np

    from backend.contract import read_contract
    from backend.preprocess import preprocess_rgba
    from backend.runtime import LiteRTClassifier
    from tests.conftest import MODEL_DIR, REPO_ROOT

    vectors = [v for v in json.loads((REPO_ROOT / "tests" / "vectors" / "preprocess.json")
                                     .read_text())["vectors"] if v["expected"] != "empty"]
    assert any(v["name"].startswith("not a digit") for v in vectors)
    contract = read_contract(MODEL_DIR)
    classifier = LiteRTClassifier(MODEL_DIR / contract.file_for("litert"))
    server = []
    for vector in vectors:
        pixels = np.frombuffer(zlib.decompress(base64.b64decode(vector["rgba_zlib"])),
                               np.uint8).reshape(vector["height"], vector["width"], 4)
        server.append(contract.answer(classifier.predict(preprocess_rgba(pixels))))
    registry = open_store(MODELS_ROOT).registry
    browser = page.evaluate("""async ([vectors, url, labels]) => {
        const p = await import('/static/js/preprocess.js');
        const { answerFrom } = await import('/static/js/contract.js');
        const { BrowserModel } = await import('/static/js/browser-model.js');
        const model = new BrowserModel({ ortBase: 'static/vendor/onnxruntime-web/' });
        model.use(url);
        const inflate = async (b64) => {
            const zipped = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const stream = new Blob([zipped]).stream()
                .pipeThrough(new DecompressionStream('deflate'));
            return new Uint8Array(await new Response(stream).arrayBuffer());
        };
        const out = [];
        for (const v of vectors) {
            const input = p.preprocessRGBA(await inflate(v.rgba_zlib), v.width, v.height);
            out.push(answerFrom(labels, await model.predict(input)));
        }
        return out;
    }""", [vectors, f"models/{registry.model}/{registry.production}/{contract.files['onnx']}",
           list(contract.labels)])
    for vector, ours, theirs in zip(vectors, server, browser, strict=True):
        assert ours["digit"] == theirs["digit"], vector["name"]
        assert ours.get("reason") == theirs.get("reason"), vector["name"]
        assert np.abs(np.array(ours["probabilities"]) - np.array(theirs["probabilities"])
                      ).max() <= 1e-4, vector["name"]
    if "not_a_digit" in contract.labels:
        non_digits = [s for v, s in zip(vectors, server, strict=True)
                      if v["name"].startswith("not a digit")]
        assert all(s["digit"] is None for s in non_digits)


def star_strokes(page) -> list[list[tuple[float, float]]]:
    """A five-pointed star drawn in one stroke across the middle of the pad."""
    import itertools
    import math

    from tests.e2e.pointer import canvas_box

    x, y, width, height = canvas_box(page)
    radius, cx, cy = 0.35 * min(width, height), x + width / 2, y + height / 2
    corners = [(cx + radius * math.cos(-math.pi / 2 + k * 4 * math.pi / 5),
                cy + radius * math.sin(-math.pi / 2 + k * 4 * math.pi / 5)) for k in range(6)]
    points = [(a[0] + (b[0] - a[0]) * t / 8, a[1] + (b[1] - a[1]) * t / 8)
              for a, b in itertools.pairwise(corners) for t in range(8)]
    return [[*points, corners[-1]]]


def test_a_doodle_is_not_read_as_a_digit_on_the_server_and_in_the_browser(page):
    from tests.e2e.pointer import draw_with_mouse

    with page.expect_response(lambda r: r.url.endswith("/api/predict")) as response:
        draw_with_mouse(page, star_strokes(page))
    assert response.value.json()["digit"] is None
    expect(page.get_by_test_id("prediction")).to_have_text("That doesn't look like a digit")
    expect(page.get_by_test_id("prob-not-a-digit")).to_have_class("top")
    page.get_by_test_id("mode-browser").check()
    expect(page.get_by_test_id("latency")).to_contain_text("in this browser", timeout=20000)
    expect(page.get_by_test_id("prediction")).to_have_text("That doesn't look like a digit")
