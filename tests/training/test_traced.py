"""Digits traced into pen strokes: batch thinning, the redrawn model inputs, the training mix."""

import numpy as np

from training.strokes import thin, thin_batch
from training.traced import traced_inputs, unit_strokes
from training.train import with_traced


def test_thinning_leaves_one_pixel_wide_lines_inside_the_ink():
    mask = np.zeros((28, 28), bool)
    mask[10:16, 4:24] = True  # a 6 px thick bar
    mask[4:24, 12:17] = True  # crossed by a 5 px thick one
    skeleton = thin(mask)
    assert skeleton.any() and not (skeleton & ~mask).any()
    blocks = skeleton[:-1, :-1] & skeleton[1:, :-1] & skeleton[:-1, 1:] & skeleton[1:, 1:]
    assert not blocks.any()  # no 2x2 square left anywhere: one pixel wide
    assert skeleton[:, 7:21].any(axis=0).all() and skeleton[6:21].any(axis=1).all()  # both bars


def test_a_batch_thins_each_image_as_alone(mnist_test_set):
    images = mnist_test_set[0][:40] > 100
    together = thin_batch(images)
    for image, skeleton in zip(images, together, strict=True):
        assert (thin(image) == skeleton).all()


def test_every_test_digit_of_a_sample_gives_strokes_in_the_unit_box(mnist_test_set):
    for strokes in unit_strokes(mnist_test_set[0][:50]):
        points = np.array([p for stroke in strokes for p in stroke])
        assert len(strokes) >= 1 and all(len(stroke) >= 2 for stroke in strokes)
        assert points.min() >= -1.0 and points.max() <= 2.0


def test_traced_inputs_are_normalised_as_the_backend_normalises_a_drawing(mnist_test_set):
    images = mnist_test_set[0][:30]
    traced = traced_inputs(images, seed=3)
    assert traced.shape == images.shape and traced.dtype == np.uint8
    for drawn in traced:
        rows, cols = np.nonzero(drawn > 0)
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 <= 22  # the 20 px box
        mass = drawn.astype(float) / drawn.sum()
        centre = (mass.sum(axis=1) @ np.arange(28), mass.sum(axis=0) @ np.arange(28))
        assert np.allclose(centre, 13.5, atol=1.0)
    assert (traced_inputs(images, seed=3) == traced).all()  # seeded: the same every run
    assert not (traced == images).all(axis=(1, 2)).any()  # every digit was redrawn


def test_the_training_mix_redraws_only_the_picked_digits(mnist_test_set):
    images = mnist_test_set[0][:200]
    mixed = with_traced(images, 30, seed=1)
    changed = ~(mixed == images).all(axis=(1, 2))
    assert changed.sum() == 30
    assert with_traced(images, 0, seed=1) is images
    assert with_traced(images[:20], 30, seed=1).shape == (20, 28, 28)  # capped at a fifth
