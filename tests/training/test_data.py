"""The MNIST loader: the npz path, its errors, and the env-var/--data resolution."""

from pathlib import Path

import numpy as np
import pytest

from training.data import DATA_ENV_VAR, DatasetError, load_mnist, resolve_data_path, to_model_input


def write_npz(path: Path, **overrides: np.ndarray) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 50, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 20, dtype=np.uint8),
    }
    arrays.update(overrides)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    np.savez(path, **arrays)
    return path


def test_good_npz_loads_all_four_arrays(tmp_path):
    path = write_npz(tmp_path / "mnist.npz")
    data = load_mnist(path)
    assert data.x_train.shape == (50, 28, 28) and data.x_train.dtype == np.uint8
    assert data.y_train.shape == (50,)
    assert data.x_test.shape == (20, 28, 28)
    assert data.y_test.shape == (20,)
    assert data.source == str(path)


def test_env_var_names_the_file_when_no_path_is_given(tmp_path, monkeypatch):
    path = write_npz(tmp_path / "from-env.npz")
    monkeypatch.setenv(DATA_ENV_VAR, str(path))
    assert resolve_data_path(None) == path
    assert load_mnist().source == str(path)


def test_explicit_path_wins_over_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "elsewhere.npz"))
    assert resolve_data_path(tmp_path / "mine.npz") == tmp_path / "mine.npz"


def test_no_setting_means_the_keras_download(monkeypatch):
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    assert resolve_data_path(None) is None


def test_missing_file_names_path_and_expected_keys(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(DatasetError) as info:
        load_mnist(missing)
    message = str(info.value)
    assert str(missing) in message
    assert "x_train, y_train, x_test, y_test" in message


def test_wrong_keys_are_listed(tmp_path):
    path = tmp_path / "wrong.npz"
    np.savez(path, images=np.zeros((3, 28, 28), np.uint8), labels=np.zeros(3, np.uint8))
    with pytest.raises(DatasetError) as info:
        load_mnist(path)
    message = str(info.value)
    assert str(path) in message
    assert "'x_train'" in message and "'images'" in message


def test_one_missing_key_is_named(tmp_path):
    path = write_npz(tmp_path / "no-y-test.npz", y_test=None)
    with pytest.raises(DatasetError, match=r"lacks keys \['y_test'\]"):
        load_mnist(path)


def test_file_that_is_not_an_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_text("this is not a zip archive")
    with pytest.raises(DatasetError, match=r"not a readable \.npz"):
        load_mnist(path)


@pytest.mark.parametrize(
    ("key", "value", "pattern"),
    [
        ("x_train", np.zeros((50, 32, 32), np.uint8), "expected \\(N, 28, 28\\)"),
        ("x_test", np.zeros((20, 28, 28), np.float32), "expected uint8"),
        ("y_train", np.zeros(49, np.uint8), "to match x_train"),
        ("y_test", np.full(20, 10, np.uint8), "outside 0..9"),
    ],
)
def test_malformed_arrays_are_rejected(tmp_path, key, value, pattern):
    path = write_npz(tmp_path / "bad.npz", **{key: value})
    with pytest.raises(DatasetError, match=pattern):
        load_mnist(path)


def test_limit_takes_the_first_images(tmp_path):
    data = load_mnist(write_npz(tmp_path / "m.npz")).limited(10)
    assert len(data.x_train) == 10 and len(data.y_test) == 10
    assert "first 10" in data.source


def test_model_input_is_float_0_to_1_with_channel_axis():
    images = np.array([[[0, 255], [128, 51]]], dtype=np.uint8)
    out = to_model_input(images)
    assert out.shape == (1, 2, 2, 1) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0
    assert out[0, 1, 1, 0] == pytest.approx(0.2)
