"""Number mode on ZIP codes written as a person writes them (tests/zipcodes.py), in-process.

The digits are MNIST test digits traced into pen strokes: 5s with a separate top bar, 4s in
two strokes and stray specks all occur, as on the page. benchmarks/zipcodes.py prints the
same figures on 1,000 numbers.
"""

from __future__ import annotations

import pytest

from benchmarks.zipcodes import evaluate

pytestmark = pytest.mark.slow


def test_zip_codes_written_as_strokes_are_split_into_the_right_digits(mnist_test_set):
    images, labels = mnist_test_set
    result = evaluate(images, labels, count=400, seed=11)
    wrong_count = result["kinds"]["extra digit"] + result["kinds"]["missing digit"]
    print(f"\n{result['exact']}/400 read exactly ({result['exact_from_scans']} from their "
          f"scans); {wrong_count} with a wrong digit count; {dict(result['kinds'])}")
    # Segmentation: measured 1 of 1,000 (seed 0) with a wrong digit count (9 before parts over
    # no digit's columns formed clusters; the first rule 42), and 1 of these 400.
    assert wrong_count <= 0.02 * 400
    # Exact reads are bounded by how the model reads pen-drawn digits: the production model
    # reads 99.30 % of the traced digits right (0.993^5 = 96.5 %); measured 964 of 1,000 (seed
    # 0; 984 when each digit is read from its scan) and 386 of these 400. The tracer before
    # training/strokes.py's clean_ends lost parts of bold digits and bounded this near 86 %;
    # see the README.
    assert result["exact"] >= 0.93 * 400
