"""Splitting a drawing of several digits: components, stroke merging, order, noise."""

from __future__ import annotations

import numpy as np
import pytest

from backend.contract import read_contract
from backend.segment import STROKES_PER_DIGIT, TooManyMarks, marks, segment_digits
from tests.conftest import MODEL_DIR, MODEL_NAME
from tests.drawings import data_url, digit_ink, encode, number_drawing, place, scaled, to_image


def flood_fill_count(mask: np.ndarray) -> int:
    """Reference 8-connected component count by plain flood fill."""
    seen = np.zeros_like(mask, dtype=bool)
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        count += 1
        stack = [start]
        seen[start] = True
        while stack:
            y, x = stack.pop()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = y + dy, x + dx
                    if (0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx]
                            and not seen[ny, nx]):
                        seen[ny, nx] = True
                        stack.append((ny, nx))
    return count


@pytest.mark.parametrize("seed", range(5))
def test_marks_are_8_connected_components(seed):
    mask = np.random.default_rng(seed).random((40, 60)) < 0.3
    ink = mask.astype(np.float32)
    labels, kept, _ = marks(ink, max_digits=10_000)
    count = flood_fill_count(mask)
    assert labels.max() == count  # every component, before specks are dropped
    assert (labels[~mask] == 0).all()
    assert 0 < len(kept) <= count


def test_diagonal_neighbours_are_connected():
    _, kept, _ = marks(np.eye(6, dtype=np.float32), max_digits=1)
    assert len(kept) == 1


def test_strokes_of_one_digit_are_merged_and_digits_stay_apart():
    ink = np.zeros((100, 220))
    ink[20:80, 30:36] = 1  # a "4": vertical stroke ...
    ink[20:60, 10:14] = 1  # ... the second stroke, not touching it
    ink[58:62, 10:50] = 1  # (the cross bar touches the first only)
    ink[20:24, 120:170] = 1  # a "5" top bar, separate from its body
    ink[24:80, 120:126] = 0.8
    ink[50:80, 126:170] = 0.8
    ink[20:80, 200:205] = 1  # a "1"
    segments = segment_digits(ink, 20)
    assert [s.box[0] for s in segments] == [10, 120, 200]
    assert segments[1].box == (120, 20, 50, 60)


def test_each_segment_holds_only_its_own_ink():
    ink = np.zeros((60, 100))
    ink[10:50, 10:40] = 1
    ink[5:55, 60:90] = 0.5
    first, second = segment_digits(ink, 20)
    assert first.ink.max() == 1.0 and second.ink.max() == 0.5
    assert first.ink.shape == (40, 30)


def test_specks_are_dropped():
    ink = np.zeros((100, 200))
    ink[10:90, 20:60] = 1
    ink[10:90, 120:160] = 1
    ink[50, 95] = 1  # a stray dot between the digits
    assert len(segment_digits(ink, 20)) == 2


def test_a_separate_bar_joins_its_digit_and_a_speck_beside_a_digit_is_dropped():
    ink = np.zeros((120, 300), np.float32)
    ink[30:100, 20:26] = 1  # a "1"
    ink[40:100, 110:150] = 1  # the body of a "5" ...
    ink[22:28, 128:175] = 1  # ... its top bar, a separate stroke reaching past the body
    ink[92:97, 160:165] = 1  # a small stray dot to the right of the 5, above the minimum mass
    ink[30:100, 230:236] = 1  # another "1"
    segments = segment_digits(ink, 20)
    assert [s.box for s in segments] == [(20, 30, 6, 70), (110, 22, 65, 78), (230, 30, 6, 70)]


def test_a_four_in_two_strokes_is_one_digit():
    ink = np.zeros((120, 200), np.float32)
    ink[20:70, 30:36] = 1  # the left stroke, down ...
    ink[64:70, 30:80] = 1  # ... and across, past the vertical
    ink[10:110, 66:72] = 1  # the vertical, a second stroke
    assert len(segment_digits(ink, 20)) == 1


def test_a_flat_wide_digit_beside_another_is_a_digit_of_its_own():
    ink = np.zeros((120, 300), np.float32)
    ink[20:100, 20:26] = 1  # a "1", 80 px tall
    ink[60:92, 90:150] = 1  # a flat, wide "5": 32 px high, shorter than MINOR_HEIGHT of 80
    ink[20:100, 160:200] = 1  # a "0" 10 px to its right, nearer than NEAR_GAP
    assert [s.box[0] for s in segment_digits(ink, 20)] == [20, 90, 160]


def test_a_digit_drawn_in_separate_dots_is_one_digit():
    ink = np.zeros((120, 300), np.float32)
    ink[20:100, 20:26] = 1  # a "1"
    for top, left in ((20, 110), (40, 128), (60, 112), (80, 126)):  # a "3" in four dabs
        ink[top : top + 14, left : left + 14] = 1
    ink[20:100, 220:226] = 1  # another "1", far from the dots
    segments = segment_digits(ink, 20)
    assert [s.box for s in segments][1] == (110, 20, 32, 74)
    assert len(segments) == 3


def test_a_dash_between_digits_stays_noise():
    ink = np.zeros((120, 400), np.float32)
    ink[20:100, 20:60] = 1
    ink[56:64, 170:220] = 1  # a ZIP+4 hyphen: wide but only a pen's width high
    ink[20:100, 330:370] = 1
    assert [s.box[0] for s in segment_digits(ink, 20)] == [20, 330]


def test_a_dot_grid_is_refused_before_any_per_mark_work():
    ink = np.zeros((120, 360), np.float32)
    ink[::4, ::4] = 1  # 2,700 dots of equal size: none is a speck, no ZIP code has that many
    with pytest.raises(TooManyMarks) as error:
        segment_digits(ink, 20)
    assert error.value.marks > 20 * STROKES_PER_DIGIT


def test_no_ink_no_segments():
    assert segment_digits(np.zeros((10, 10)), 20) == []


def test_zip_codes_from_mnist_digits_are_read(client, mnist_test_set):
    """Synthetic 5-digit numbers made of real MNIST test digits, through /predict/number."""
    images, labels = mnist_test_set
    rng = np.random.default_rng(7)
    numbers, correct_numbers, correct_digits, total_digits = 60, 0, 0, 0
    for _ in range(numbers):
        picks = rng.choice(len(images), 5, replace=False)
        ink, _ = number_drawing([images[i] for i in picks], rng)
        expected = "".join(str(labels[i]) for i in picks)
        response = client.post("/predict/number",
                               json={"image": data_url(encode(to_image(ink, "rgba-alpha")))})
        assert response.status_code == 200
        body = response.get_json()
        assert [d["box"][0] for d in body["digits"]] == sorted(d["box"][0] for d in body["digits"])
        correct_numbers += body["number"] == expected
        if len(body["number"]) == len(expected):
            correct_digits += sum(a == b for a, b in zip(body["number"], expected, strict=True))
        total_digits += len(expected)
    assert correct_digits / total_digits >= 0.97
    assert correct_numbers / numbers >= 0.85


def test_number_response_shape(client, mnist_test_set):
    images, labels = mnist_test_set
    ink, lefts = number_drawing([images[i] for i in (3, 2, 1)], np.random.default_rng(1))
    body = client.post("/predict/number?return_input=1",
                       json={"image": data_url(encode(to_image(ink, "rgba-alpha")))}).get_json()
    assert body["number"] == "".join(str(labels[i]) for i in (3, 2, 1))
    assert body["model"]["name"] == MODEL_NAME
    for digit, left in zip(body["digits"], lefts, strict=True):
        x, _, w, h = digit["box"]
        assert abs(x - left) <= 8 and w > 0 and h > 0  # faint resampled edges are not ink
        assert 0 <= digit["confidence"] <= 1
        assert len(digit["probabilities"]) == len(read_contract(MODEL_DIR).labels)
        assert np.array(digit["input"]).shape == (28, 28)


def test_too_many_marks_is_422(client):
    ink = np.zeros((40, 400))
    for x in range(5, 395, 15):  # 26 separate strokes of equal size
        ink[5:35, x : x + 4] = 1
    response = client.post("/predict/number",
                           json={"image": data_url(encode(to_image(ink, "rgba-alpha")))})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "too_many_digits"


def test_a_piece_that_is_no_digit_is_marked_in_the_number(client, mnist_test_set):
    """1, a star, 3 side by side: the star is read as no digit, shown as ? in the number."""
    from training.negatives import star

    images, labels = mnist_test_set
    one, three = (images[int(np.flatnonzero(labels == d)[0])] for d in (1, 3))
    doodle = star(np.random.default_rng(3)).astype(np.float64) / 255.0
    rows, cols = np.nonzero(doodle)
    pieces = [scaled(digit_ink(one), 120),
              scaled(doodle[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1], 120),
              scaled(digit_ink(three), 120)]
    canvas = np.zeros((180, sum(p.shape[1] for p in pieces) + 40 * 4))
    left = 40
    for piece in pieces:
        canvas = np.maximum(canvas, place(piece, canvas.shape, 30, left))
        left += piece.shape[1] + 40
    body = client.post("/predict/number", json={"image": data_url(encode(to_image(
        canvas, "rgba-alpha")))}).get_json()
    assert body["number"] == "1?3"
    middle = body["digits"][1]
    assert middle["digit"] is None and middle["reason"] == "not_a_digit"
