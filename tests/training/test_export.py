"""The export: a parity gate (LiteRT or ONNX disagreeing with Keras is refused), and new
versions beside the served one, never over it."""

from pathlib import Path

import keras
import numpy as np
import pytest

from backend.contract import read_contract
from backend.registry import open_store
from training import export
from training.data import Mnist, to_model_input
from training.export import (
    PARITY_TOLERANCE,
    ExportError,
    ParityError,
    check_parity,
    export_model,
)
from training.model import LABELS, MODEL_NAME, build_model, with_temperature
from training.train import TrainConfig, TrainResult, evaluate


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(0)
    return build_model()


@pytest.fixture(scope="module")
def images(mnist_test_set) -> np.ndarray:
    return to_model_input(mnist_test_set[0][:16])


def keras_probabilities(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(images, training=False))


def fake_runtime(model: keras.Model, shift: float):
    """A stand-in for one exported runtime: Keras's answer moved by ``shift`` on one class."""

    def probabilities(_path: Path, images: np.ndarray) -> np.ndarray:
        got = keras_probabilities(model, images).copy()
        got[:, 3] += shift
        return got

    return probabilities


def test_agreeing_runtimes_pass_and_report_their_deltas(model, images, monkeypatch):
    monkeypatch.setattr(export, "litert_probabilities", fake_runtime(model, 0.0))
    monkeypatch.setattr(export, "onnx_probabilities", fake_runtime(model, PARITY_TOLERANCE / 2))
    deltas = check_parity(model, Path("unused"), images)
    assert deltas["litert"] == 0.0
    assert deltas["onnx"] == pytest.approx(PARITY_TOLERANCE / 2, rel=1e-2)


@pytest.mark.parametrize("bad_runtime", ["litert", "onnx"])
def test_a_disagreeing_runtime_raises_parity_error(model, images, monkeypatch, bad_runtime):
    for runtime in ("litert", "onnx"):
        shift = 1e-3 if runtime == bad_runtime else 0.0
        monkeypatch.setattr(export, f"{runtime}_probabilities", fake_runtime(model, shift))
    with pytest.raises(ParityError, match=bad_runtime) as raised:
        check_parity(model, Path("unused"), images)
    other = "onnx" if bad_runtime == "litert" else "litert"
    assert other not in str(raised.value)


def test_nan_output_is_a_parity_failure(model, images, monkeypatch):
    monkeypatch.setattr(export, "litert_probabilities", fake_runtime(model, float("nan")))
    monkeypatch.setattr(export, "onnx_probabilities", fake_runtime(model, 0.0))
    with pytest.raises(ParityError, match="litert"):
        check_parity(model, Path("unused"), images)


def train_result(model: keras.Model) -> TrainResult:
    return TrainResult(model, {}, 0.0, TrainConfig(epochs=1), temperature=1.5)


def quick_data(mnist_test_set) -> Mnist:
    images, labels = mnist_test_set
    return Mnist(images[:32], labels[:32], images[:32], labels[:32], "/some/machine/mnist.npz")


@pytest.mark.slow
def test_a_failed_export_leaves_nothing_behind(model, mnist_test_set, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "onnx_probabilities", fake_runtime(model, 1e-3))
    data = quick_data(mnist_test_set)
    test = evaluate(model, data.x_test, data.y_test)
    with pytest.raises(ParityError, match="onnx"):
        export_model(train_result(model), data, tmp_path, test=test)
    # No version folder, no staging folder, no registry naming a version that is not there.
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")] == [MODEL_NAME]


@pytest.mark.slow
def test_exports_are_new_versions_beside_the_served_one(model, mnist_test_set, tmp_path):
    data = quick_data(mnist_test_set)
    result = train_result(model)
    test = evaluate(with_temperature(model, result.temperature), data.x_test, data.y_test)
    metadata = export_model(result, data, tmp_path, test=test)
    version_dir = tmp_path / MODEL_NAME / metadata["version"]
    assert sorted(p.name for p in version_dir.iterdir()) == sorted(export.EXPORT_FILES)
    # The first export becomes production; the registry and the backend's contract accept it.
    store = open_store(tmp_path)
    assert store.registry.production == metadata["version"]
    contract = read_contract(version_dir)
    assert contract.labels == tuple(LABELS) and contract.version == metadata["version"]
    assert metadata["calibration"]["temperature"] == 1.5
    assert metadata["training"]["data"] == "mnist.npz"  # no path of the training machine
    # The same model again is the same version: refused, never overwritten.
    with pytest.raises(ExportError, match="already exported"):
        export_model(result, data, tmp_path, test=test)
    # Another temperature is another version, and production stays where it was.
    other = TrainResult(model, {}, 0.0, TrainConfig(epochs=1), temperature=2.0)
    second = export_model(other, data, tmp_path, test=test)
    assert second["version"] != metadata["version"]
    assert open_store(tmp_path).registry.production == metadata["version"]
