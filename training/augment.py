"""Augmentation chosen for digits drawn on a canvas, and the tf.data pipelines around it.

A canvas digit reaches the model after the backend's preprocessing (crop, scale to 20 px,
centre of mass at the centre), so what still varies is what that normalisation cannot undo:
slant and rotation, aspect and size within the box, a pixel or two of centring, and above all
stroke thickness (a mouse, a finger and a pen draw very differently). Each image gets one
random affine map (one resampling, so no compounding blur) and a random stroke-width change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random changes; each is sampled uniformly per image."""

    max_rotation_deg: float = 12.0
    max_shear: float = 0.15  # tan of the slant angle: ~8.5 degrees
    zoom_range: tuple[float, float] = (0.85, 1.10)
    max_shift_px: float = 2.5
    thicken_prob: float = 0.35
    thin_prob: float = 0.15


def thickness_jitter(images: tf.Tensor, config: AugmentConfig) -> tf.Tensor:
    """Randomly thicken (grey dilation) or thin (grey erosion) strokes, by a random amount.

    images: float32 (N, 28, 28, 1) in 0..1. A partial blend between the image and its
    dilation/erosion gives widths between whole-pixel steps.
    """
    n = tf.shape(images)[0]
    dilated = tf.nn.max_pool2d(images, ksize=3, strides=1, padding="SAME")
    eroded = -tf.nn.max_pool2d(-images, ksize=3, strides=1, padding="SAME")
    choice = tf.random.uniform([n, 1, 1, 1])
    strength = tf.random.uniform([n, 1, 1, 1])
    thicken = tf.cast(choice < config.thicken_prob, tf.float32) * strength
    thin = tf.cast(choice > 1.0 - config.thin_prob, tf.float32) * strength * 0.6
    return images + thicken * (dilated - images) + thin * (eroded - images)


def random_affine_transforms(n: tf.Tensor, config: AugmentConfig, size: int = 28) -> tf.Tensor:
    """(n, 8) projective transforms (output -> input coordinates) about the image centre."""
    angle = tf.random.uniform([n], -1.0, 1.0) * math.radians(config.max_rotation_deg)
    shear = tf.random.uniform([n], -config.max_shear, config.max_shear)
    zoom_x = tf.random.uniform([n], *config.zoom_range)
    # Aspect changes a little independently of size: people draw narrow and wide digits.
    zoom_y = zoom_x * tf.random.uniform([n], 0.93, 1.07)
    shift = tf.random.uniform([n, 2], -config.max_shift_px, config.max_shift_px)

    cos, sin = tf.cos(angle), tf.sin(angle)
    # Output pixel -> input pixel: undo zoom, then shear, then rotation.
    a0 = (cos + shear * sin) / zoom_x
    a1 = (-sin + shear * cos) / zoom_x
    b0 = sin / zoom_y
    b1 = cos / zoom_y
    centre = (size - 1) / 2.0
    a2 = centre - a0 * centre - a1 * centre + shift[:, 0]
    b2 = centre - b0 * centre - b1 * centre + shift[:, 1]
    zeros = tf.zeros([n])
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def augment_batch(images: tf.Tensor, config: AugmentConfig = AugmentConfig()) -> tf.Tensor:
    """Augment a float32 (N, 28, 28, 1) batch in 0..1."""
    images = thickness_jitter(images, config)
    transforms = random_affine_transforms(tf.shape(images)[0], config)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.clip_by_value(images, 0.0, 1.0)


def _to_float(images: tf.Tensor) -> tf.Tensor:
    return tf.cast(images, tf.float32)[..., tf.newaxis] / 255.0


def training_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    seed: int,
    augment: AugmentConfig | None = AugmentConfig(),
) -> tf.data.Dataset:
    """Shuffled, batched, augmented (uint8 images in, float32 0..1 out) training data."""
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size)

    def prepare(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x = _to_float(x)
        return (augment_batch(x, augment) if augment else x), y

    return ds.map(prepare, num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)


def evaluation_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """Batched, unaugmented data in the model's input format."""
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)
    return ds.map(lambda x, y: (_to_float(x), y), num_parallel_calls=AUTOTUNE).prefetch(AUTOTUNE)
