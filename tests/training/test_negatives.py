"""The generated non-digits' building blocks."""

import numpy as np

from training.negatives import smooth_curve


def test_smooth_curve_passes_through_every_control_point_in_order():
    control = np.random.default_rng(3).uniform(-1, 1, (7, 2))
    curve = smooth_curve(control, samples=10)
    assert curve.shape == (6 * 10 + 1, 2)
    # Catmull-Rom interpolates: segment i starts at control point i, the last ends on the last.
    np.testing.assert_allclose(curve[::10], control, atol=1e-12)


def test_smooth_curve_is_the_catmull_rom_formula_between_points():
    control = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 1.0], [3.0, 1.0]])
    curve = smooth_curve(control, samples=4)
    p0, p1, p2, p3 = control
    t = 0.5
    expected = 0.5 * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                      + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
    np.testing.assert_allclose(curve[4 + 2], expected)  # segment 1 (p1 -> p2), t = 2/4
