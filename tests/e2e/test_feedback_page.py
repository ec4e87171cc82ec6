"""The feedback flow in real Chromium against real nginx, gunicorn and the SQLite store:
draw -> wrong -> pick the digit -> stored -> undo -> gone; per digit in number mode."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from backend.config import default_database_url
from backend.feedback.store import FeedbackStore
from tests.e2e.pointer import draw_digit, draw_with_mouse, first_of_each_digit, number_strokes

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def store(stack):
    """The stack's database: the backend's default, under the tests' $XDG_DATA_HOME."""
    store = FeedbackStore(default_database_url())
    yield store
    store.close()


def as_stored(model_input) -> np.ndarray:
    return np.rint(np.asarray(model_input) * 255).astype(np.uint8)


def answer(page, test_id: str):
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as response:
        page.get_by_test_id(test_id).click()
    return response.value


def test_wrong_then_undo(page, store, mnist_test_set):
    images, _ = mnist_test_set
    count = store.count()
    reading = draw_digit(page, images[first_of_each_digit(mnist_test_set)[4]]).json()
    panel = page.get_by_test_id("feedback")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("feedback-notice")).to_contain_text("28×28")
    expect(page.get_by_test_id("feedback-notice")).to_contain_text("no IP address")
    assert store.count() == count  # nothing is stored unless the visitor acts

    wrong = (reading["digit"] + 1) % 10
    response = answer(page, f"feedback-{wrong}")
    assert response.status == 201
    expect(page.get_by_test_id("feedback-status")).to_contain_text(f"it was {wrong}")
    sent = response.request.post_data_json
    stored = store.get(sent["id"])
    assert (stored.predicted, stored.corrected, stored.mode) == (reading["digit"], wrong, "digit")
    assert stored.model_version == reading["model"]["version"]
    np.testing.assert_array_equal(stored.pixels, as_stored(reading["input"]))
    expect(page.get_by_test_id("feedback-3")).to_be_disabled()  # one answer per reading

    with page.expect_response(lambda r: "/api/feedback/" in r.url) as undo:
        page.get_by_test_id("feedback-undo").click()
    assert undo.value.status == 200
    expect(page.get_by_test_id("feedback-status")).to_contain_text("Removed")
    assert store.get(sent["id"]) is None and store.count() == count
    assert page.console_errors == []


def test_a_digit_key_answers_and_right_confirms(page, store, mnist_test_set):
    images, _ = mnist_test_set
    reading = draw_digit(page, images[first_of_each_digit(mnist_test_set)[2]]).json()
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as response:
        page.keyboard.press("8")
    stored = store.get(response.value.request.post_data_json["id"])
    assert stored.corrected == 8 and stored.predicted == reading["digit"]

    page.get_by_test_id("clear").click()
    expect(page.get_by_test_id("feedback")).to_be_hidden()
    reading = draw_digit(page, images[first_of_each_digit(mnist_test_set)[6]]).json()
    response = answer(page, "feedback-right")
    stored = store.get(response.request.post_data_json["id"])
    assert stored.is_confirmation and stored.corrected == reading["digit"]


def test_each_digit_of_a_number_can_be_corrected(page, store, mnist_test_set):
    page.get_by_test_id("mode-number").check()
    strokes = number_strokes(page, mnist_test_set, (0, 2, 1, 3, 9))
    readings = []
    page.on("response", lambda r: r.url.endswith("/api/predict/number") and readings.append(r))
    draw_with_mouse(page, strokes)
    expect(page.get_by_test_id("number")).to_have_text("02139")
    # Each stroke is read (debounced): let the last reading land, then answer about it.
    page.wait_for_timeout(800)
    expect(page.locator("body.busy")).to_have_count(0)
    digits = readings[-1].json()["digits"]
    page.get_by_test_id("number-digit-2-choose").click()
    expect(page.get_by_test_id("feedback-question")).to_contain_text("Digit 3 of 5")
    response = answer(page, "feedback-5")
    assert response.status == 201
    stored = store.get(response.request.post_data_json["id"])
    assert (stored.mode, stored.corrected, stored.predicted) == ("number", 5, digits[2]["digit"])
    np.testing.assert_array_equal(stored.pixels, as_stored(digits[2]["input"]))


def test_in_browser_readings_can_be_corrected_too(page, store, mnist_test_set):
    images, _ = mnist_test_set
    server = draw_digit(page, images[first_of_each_digit(mnist_test_set)[7]]).json()
    page.get_by_test_id("mode-browser").check()
    expect(page.get_by_test_id("latency")).to_contain_text("in this browser", timeout=20000)
    wrong = (server["digit"] + 3) % 10
    response = answer(page, f"feedback-{wrong}")
    assert response.status == 201
    stored = store.get(response.request.post_data_json["id"])
    assert stored.model_version == server["model"]["version"]  # production runs in the page
    # The page's preprocessing equals the backend's (shared vectors), to a grey level or two.
    difference = np.abs(stored.pixels.astype(int) - as_stored(server["input"]).astype(int))
    assert difference.max() <= 3
