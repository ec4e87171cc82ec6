"""The CNN: one function that builds it, and one that gives it its calibrated temperature."""

from __future__ import annotations

import keras
from keras import layers

MODEL_NAME = "cnn-mnist"
INPUT_SHAPE = (28, 28, 1)
NOT_A_DIGIT = "not_a_digit"
# Ten digits, then the class for drawings that are no digit at all (training/negatives.py).
LABELS = [*(str(digit) for digit in range(10)), NOT_A_DIGIT]
NOT_A_DIGIT_CLASS = LABELS.index(NOT_A_DIGIT)
NUM_CLASSES = len(LABELS)


def _conv_bn_relu(x: keras.KerasTensor, filters: int, kernel: int, strides: int = 1,
                  padding: str = "valid") -> keras.KerasTensor:
    # No conv bias: BatchNorm's shift makes it redundant.
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build_model(dropout: float = 0.4, num_classes: int = NUM_CLASSES) -> keras.Model:
    """A compact CNN for 28x28x1 drawings (white on black, 0..1) -> class probabilities.

    Two blocks of conv3-conv3-conv5/stride-2 (the strided 5x5 conv is a learnt pooling),
    each followed by dropout, then a small dense head; BatchNorm after every conv and dense.
    ~330k parameters: small enough to run in a browser. The last dense layer ("logits") is
    kept apart from the softmax so that a temperature can be put between them later.
    """
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = inputs
    for filters in (32, 64):
        x = _conv_bn_relu(x, filters, 3)
        x = _conv_bn_relu(x, filters, 3)
        x = _conv_bn_relu(x, filters, 5, strides=2, padding="same")
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(dropout)(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Softmax(name="probabilities")(logits)
    return keras.Model(inputs, outputs, name=MODEL_NAME.replace("-", "_"))


def with_temperature(model: keras.Model, temperature: float) -> keras.Model:
    """The same network (shared weights) answering softmax(logits / temperature).

    Temperature scaling (Guo et al., 2017) changes how confident the model says it is, never
    which class it picks; the exported model carries it, so every runtime reports the
    calibrated confidence.
    """
    logits = model.get_layer("logits").output
    scaled = layers.Rescaling(1.0 / temperature, name="temperature")(logits)
    outputs = layers.Softmax(name="probabilities")(scaled)
    return keras.Model(model.inputs, outputs, name=model.name)
