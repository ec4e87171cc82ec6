"""Each preprocessing step on its own, then the whole pipeline on tricky drawings."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backend.preprocess import (
    BOX,
    CENTRE,
    FRAME,
    EmptyDrawing,
    centre_by_mass,
    centre_of_mass,
    crop_to_ink,
    ink_bounds,
    ink_from_rgba,
    normalise_ink,
    pad_to_frame,
    preprocess_rgba,
    resample_weights,
    round_half_up,
    scale_to_box,
)
from tests.drawings import to_image


def rgba_of(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBA"))


def stroke_ink(height: int = 60, width: int = 40) -> np.ndarray:
    """A thick vertical bar with a foot: an asymmetric 'digit' whose position is easy to check."""
    ink = np.zeros((height, width))
    ink[10:50, 18:24] = 1.0
    ink[44:50, 10:32] = 1.0
    return ink


# --- ink: alpha canvases and polarity --------------------------------------------------------

def test_transparent_canvas_reads_alpha_whatever_the_colour():
    ink = stroke_ink()
    for colour in ((0, 0, 0), (255, 255, 255), (200, 30, 30)):
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = (ink * 255).astype(np.uint8)
        assert np.allclose(ink_from_rgba(rgba), ink)


def test_dark_ink_on_light_paper_is_inverted():
    ink = stroke_ink()
    result = ink_from_rgba(rgba_of(to_image(ink, "rgb-dark-on-light")))
    assert np.allclose(result, ink, atol=1 / 255)


def test_light_ink_on_dark_background_is_kept():
    ink = stroke_ink()
    result = ink_from_rgba(rgba_of(to_image(ink, "grey-light-on-dark")))
    assert np.allclose(result, ink, atol=1 / 255)


def test_grey_paper_is_background_and_faint_ink_is_stretched():
    paper = np.full((60, 40, 3), 210, np.uint8)  # light grey paper
    paper[stroke_ink() > 0] = 120  # pencil, not black
    rgba = np.dstack([paper, np.full((60, 40), 255, np.uint8)])
    result = ink_from_rgba(rgba)
    assert result.max() == pytest.approx(1.0)
    assert np.array_equal(result > 0, stroke_ink() > 0)


def test_translucent_pen_is_normalised_to_full_ink():
    rgba = np.zeros((60, 40, 4), np.uint8)
    rgba[..., 3] = (stroke_ink() * 128).astype(np.uint8)
    assert ink_from_rgba(rgba).max() == pytest.approx(1.0)


@pytest.mark.parametrize("fill", [(0, 0, 0, 0), (255, 255, 255, 255), (0, 0, 0, 255),
                                  (30, 30, 30, 10)])
def test_blank_canvases_are_empty(fill):
    rgba = np.zeros((50, 50, 4), np.uint8) + np.array(fill, np.uint8)
    with pytest.raises(EmptyDrawing):
        ink_from_rgba(rgba)


def test_noise_below_the_contrast_floor_is_empty():
    rng = np.random.default_rng(1)
    grey = (240 + rng.integers(-10, 11, (50, 50))).astype(np.uint8)  # paper grain, no ink
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    with pytest.raises(EmptyDrawing):
        ink_from_rgba(rgba)


def test_rgba_shape_is_checked():
    with pytest.raises(ValueError, match="RGBA"):
        ink_from_rgba(np.zeros((5, 5, 3), np.uint8))


# --- crop, scale, pad, centre ----------------------------------------------------------------

def test_crop_keeps_exactly_the_ink_bounding_box():
    ink = np.zeros((100, 80))
    ink[30:41, 20:27] = 0.5
    cropped = crop_to_ink(ink)
    assert cropped.shape == (11, 7)
    assert np.all(cropped == 0.5)


def test_crop_of_nothing_is_empty():
    with pytest.raises(EmptyDrawing):
        crop_to_ink(np.zeros((10, 10)))


@pytest.mark.parametrize(("size_in", "size_out"), [(280, 20), (7, 20), (100, 20), (33, 2),
                                                   (20, 20)])
def test_resampling_matches_pillows_antialiased_bilinear(size_in, size_out):
    rng = np.random.default_rng(size_in)
    source = rng.random((size_in, 13)).astype(np.float32)
    expected = np.asarray(
        Image.fromarray(source, "F").resize((13, size_out), Image.BILINEAR)
    )
    ours = resample_weights(size_in, size_out) @ source.astype(np.float64)
    assert np.abs(ours - expected).max() < 1e-5
    assert np.allclose(resample_weights(size_in, size_out).sum(axis=1), 1.0)


@pytest.mark.parametrize(("shape", "expected"), [((100, 50), (20, 10)), ((50, 100), (10, 20)),
                                                 ((3, 5), (12, 20)), ((200, 1), (20, 1)),
                                                 ((20, 20), (20, 20))])
def test_longest_side_becomes_20_keeping_the_aspect(shape, expected):
    assert scale_to_box(np.ones(shape)).shape == expected


def test_downscaling_is_antialiased_not_sampled():
    # A 1 px line in a 200 px tall image would vanish or stay 1.0 under plain sampling;
    # anti-aliasing spreads its ink over the output pixel it falls in.
    ink = np.zeros((200, 200))
    ink[:, 101] = 1.0
    out = scale_to_box(ink)
    assert 0.0 < out.max() < 0.2
    assert out.sum() == pytest.approx(ink.sum() / 100, rel=1e-6)  # ink is conserved


def test_pad_puts_the_digit_in_the_middle_of_28x28():
    framed = pad_to_frame(np.ones((20, 10)))
    assert framed.shape == (FRAME, FRAME)
    assert ink_bounds(framed) == (4, 23, 9, 18)


def test_centre_of_mass_lands_within_half_a_pixel_of_14():
    ink = np.zeros((28, 28))
    ink[2:10, 3:7] = 1.0  # far top-left
    ink[8:10, 3:15] = 1.0
    centred = centre_by_mass(ink)
    cy, cx = centre_of_mass(centred)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5
    assert centred.sum() == pytest.approx(ink.sum())  # a whole-pixel shift loses nothing


def test_centring_never_pushes_ink_out_of_the_frame():
    ink = np.zeros((28, 28))
    ink[0:28, 0] = 1.0  # a full-height line on the left edge with a heavy blob on the right
    ink[13:15, 20:28] = 5.0
    centred = centre_by_mass(ink)
    assert centred.sum() == pytest.approx(ink.sum())


def test_round_half_up_is_not_bankers_rounding():
    assert [round_half_up(v) for v in (0.5, 1.5, 2.5, -0.5, -1.5)] == [1, 2, 3, 0, -1]


# --- the whole pipeline ----------------------------------------------------------------------

def test_output_is_28x28_float32_in_0_to_1():
    out = normalise_ink(stroke_ink())
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_position_and_size_on_the_canvas_do_not_matter():
    base = stroke_ink()
    reference = normalise_ink(base)
    for scale, top, left in ((1, 0, 0), (3, 400, 17), (5, 31, 250)):
        big = np.kron(base[10:50, 10:32], np.ones((scale, scale)))
        canvas = np.zeros((big.shape[0] + 500, big.shape[1] + 500))
        canvas[top : top + big.shape[0], left : left + big.shape[1]] = big
        assert np.abs(normalise_ink(canvas) - reference).max() < 1e-6  # float32 rounding


def test_a_tiny_digit_is_scaled_up_to_mnist_size():
    canvas = np.zeros((300, 300))
    canvas[140:146, 150:152] = 1.0  # a 6x2 px "1" in a big canvas
    out = normalise_ink(canvas)
    top, bottom, _, _ = ink_bounds(out)
    assert bottom - top + 1 >= BOX


def test_mnist_digits_survive_the_round_trip(mnist_test_set):
    """An MNIST digit pasted into a canvas comes back as (nearly) itself."""
    images, _ = mnist_test_set
    errors = []
    for image in images[:200]:
        canvas = np.zeros((90, 120, 4), np.uint8)
        canvas[40:68, 70:98, 3] = image
        out = preprocess_rgba(canvas)
        errors.append(np.abs(out - image / 255.0).mean())
    # MNIST's own normalisation differs in detail (its 20 px box came from another resampler),
    # so the match is close, not exact.
    assert np.median(errors) < 0.03
