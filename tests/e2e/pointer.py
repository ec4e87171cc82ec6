"""Drawing on the page with a real mouse or real touch input."""

from __future__ import annotations

import numpy as np

from training.strokes import digit_strokes


def first_of_each_digit(mnist_test_set) -> list[int]:
    """Index of the first MNIST test image of each digit 0..9 (no hand-picking)."""
    _, labels = mnist_test_set
    return [int(np.flatnonzero(labels == d)[0]) for d in range(10)]


def canvas_box(page) -> tuple[float, float, float, float]:
    box = page.get_by_test_id("canvas").bounding_box()
    return box["x"], box["y"], box["width"], box["height"]


def draw_with_mouse(page, strokes) -> None:
    for stroke in strokes:
        page.mouse.move(*stroke[0])
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*point)
        page.mouse.up()


def draw_with_touch(page, strokes) -> None:
    """Real touch input through the DevTools protocol (Playwright's touchscreen only taps)."""
    cdp = page.context.new_cdp_session(page)
    for stroke in strokes:
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchStart", "touchPoints": [{"x": stroke[0][0], "y": stroke[0][1]}]})
        for x, y in stroke[1:]:
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def draw_digit(page, image, pointer: str = "mouse"):
    """Draw a 28x28 MNIST image on the pad; returns the /api/predict response it triggers."""
    strokes = digit_strokes(image, canvas_box(page))
    draw = draw_with_mouse if pointer == "mouse" else draw_with_touch
    with page.expect_response(lambda r: r.url.endswith("/api/predict")) as response:
        draw(page, strokes)
    return response.value


def number_strokes(page, mnist_test_set, digits: tuple[int, ...]) -> list:
    """Strokes writing ``digits`` side by side across the pad (the first test image of each)."""
    images, _ = mnist_test_set
    x, y, width, height = canvas_box(page)
    picks = [first_of_each_digit(mnist_test_set)[d] for d in digits]
    slot = width / len(picks)
    strokes = []
    for i, index in enumerate(picks):
        strokes += digit_strokes(images[index], (x + i * slot, y, slot, height))
    return strokes
