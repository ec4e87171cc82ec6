"""Loading MNIST: keras's download by default, or a local npz with the same four arrays.

The npz route (``MNIST_NPZ=<path>`` or ``--data <path>``) exists for machines without
internet access (CI, air-gapped labs); it must hold exactly what ``keras.datasets.mnist``
returns, and anything else is rejected with an error that names the file and the keys.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_ENV_VAR = "MNIST_NPZ"
EXPECTED_KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10


class DatasetError(ValueError):
    """The MNIST file is missing or does not hold what keras's mnist.npz holds."""


@dataclass(frozen=True)
class Mnist:
    """MNIST as uint8 images (N, 28, 28) and uint8 labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def limited(self, limit: int | None) -> Mnist:
        """The first ``limit`` training and test examples (for quick runs); all if None."""
        if limit is None:
            return self
        if limit <= 0:
            raise ValueError(f"limit must be positive, got {limit}")
        return Mnist(
            self.x_train[:limit],
            self.y_train[:limit],
            self.x_test[:limit],
            self.y_test[:limit],
            f"{self.source} (first {limit})",
        )


def resolve_data_path(path: str | os.PathLike[str] | None) -> Path | None:
    """The npz to read: the explicit path, else $MNIST_NPZ, else None (keras download)."""
    if path:
        return Path(path)
    env = os.environ.get(DATA_ENV_VAR)
    return Path(env) if env else None


def load_mnist(path: str | os.PathLike[str] | None = None) -> Mnist:
    """Load MNIST from ``path`` (or $MNIST_NPZ), falling back to keras's standard download."""
    npz_path = resolve_data_path(path)
    if npz_path is None:
        return _download_with_keras()
    return load_npz(npz_path)


def load_npz(path: Path) -> Mnist:
    """Read and validate an npz holding keras's four MNIST arrays."""
    expected = ", ".join(EXPECTED_KEYS)
    if not path.is_file():
        raise DatasetError(
            f"MNIST file not found: {path} (expected an .npz with keys {expected}; "
            f"set {DATA_ENV_VAR} or --data to its path, or unset both to download with keras)"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in EXPECTED_KEYS if key not in npz.files]
            if missing:
                raise DatasetError(
                    f"MNIST file {path} lacks keys {missing}: found {sorted(npz.files)}, "
                    f"expected {expected}"
                )
            arrays = {key: npz[key] for key in EXPECTED_KEYS}
    except DatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(
            f"MNIST file {path} is not a readable .npz with keys {expected}: {exc}"
        ) from exc
    _validate(arrays, str(path))
    return Mnist(**arrays, source=str(path))


def _download_with_keras() -> Mnist:
    import keras  # deferred: the npz path must not pay for importing keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    _validate(arrays, "keras.datasets.mnist")
    return Mnist(**arrays, source="keras.datasets.mnist")


def _validate(arrays: dict[str, np.ndarray], source: str) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise DatasetError(
                f"{source}: x_{split} has shape {images.shape}, expected (N, 28, 28)"
            )
        if images.dtype != np.uint8:
            raise DatasetError(f"{source}: x_{split} has dtype {images.dtype}, expected uint8")
        if labels.shape != (images.shape[0],):
            raise DatasetError(
                f"{source}: y_{split} has shape {labels.shape}, "
                f"expected ({images.shape[0]},) to match x_{split}"
            )
        if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise DatasetError(f"{source}: y_{split} holds labels outside 0..9")


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in 0..1: the model's input spec."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]
