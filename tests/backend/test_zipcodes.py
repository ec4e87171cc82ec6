"""Number mode on ZIP codes written as a person writes them (tests/zipcodes.py), in-process.

The digits are MNIST test digits traced into pen strokes: 5s with a separate top bar, 4s in
two strokes and stray specks all occur, as on the page. The same numbers with each digit's
scan pasted in its place tell segmentation apart from the pen. benchmarks/zipcodes.py prints
the same figures on 1,000 numbers.
"""

from __future__ import annotations

import pytest

from benchmarks.zipcodes import evaluate

pytestmark = pytest.mark.slow

COUNT, SEED = 400, 11


def wrong_digit_count(result: dict) -> int:
    return result["kinds"]["extra digit"] + result["kinds"]["missing digit"]


def test_zip_codes_written_as_strokes_are_split_into_the_right_digits(mnist_test_set):
    images, labels = mnist_test_set
    result = evaluate(images, labels, count=COUNT, seed=SEED)
    print(f"\n{result['exact']}/{COUNT} read exactly ({result['exact_from_scans']} from their "
          f"scans); {wrong_digit_count(result)} with a wrong digit count; "
          f"{dict(result['kinds'])}")
    # Segmentation: measured 1 of 1,000 (seed 0) with a wrong digit count (9 before parts over
    # no digit's columns formed clusters; the first rule 42), and 1 of these 400.
    assert wrong_digit_count(result) <= 0.02 * COUNT
    # Exact reads are bounded by how the model reads pen-drawn digits: the production model
    # reads 99.20 % of the traced digits right (0.992^5 = 96.1 %); measured 959 of 1,000 (seed
    # 0; 984 when each digit is read from its scan; 4,802 of 5,000 over seeds 0-4) and 382 of
    # these 400. The tracer before training/strokes.py's clean_ends lost parts of bold digits
    # and bounded this near 86 %; see docs/experiments.md.
    assert result["exact"] >= 0.93 * COUNT


def test_zip_codes_of_scanned_digits_lose_almost_nothing_to_segmentation(mnist_test_set):
    """The same numbers as scans: number mode reads about as many of them as the model reads
    digit by digit from the scans alone, so what the pen set misses is not segmentation's."""
    images, labels = mnist_test_set
    result = evaluate(images, labels, count=COUNT, seed=SEED, scanned=True)
    print(f"\n{result['exact']}/{COUNT} read exactly, {result['exact_from_scans']} digit by "
          f"digit; {dict(result['kinds'])}")
    # Measured on 5 x 1,000 numbers (seeds 0-4): 4,905 read exactly against 4,912 digit by
    # digit, 8 with a wrong digit count (MNIST crops that hold a stroke of a neighbouring
    # digit: a bar beside a 1 reads as another 1); on these 400: 390 against 394, 1.
    assert wrong_digit_count(result) <= 0.01 * COUNT
    assert result["exact"] >= result["exact_from_scans"] - 0.02 * COUNT
