"""The parity gate: an export whose LiteRT or ONNX file disagrees with Keras is refused."""

from pathlib import Path

import keras
import numpy as np
import pytest

from training import export
from training.data import to_model_input
from training.export import PARITY_TOLERANCE, ParityError, check_parity, export_model
from training.model import build_model


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


@pytest.mark.slow
def test_a_failed_export_leaves_the_previous_model_untouched(
    model, mnist_test_set, tmp_path, monkeypatch
):
    out = tmp_path / "cnn-mnist"
    out.mkdir()
    previous = {name: f"previous {name}\n" for name in export.EXPORT_FILES}
    for name, text in previous.items():
        (out / name).write_text(text)
    monkeypatch.setattr(export, "onnx_probabilities", fake_runtime(model, 1e-3))

    with pytest.raises(ParityError, match="onnx"):
        export_model(
            model,
            out,
            parity_images=mnist_test_set[0][:16],
            test_accuracy=0.1,
            test_loss=2.3,
            test_images=16,
            training_seconds=0.0,
            epochs=0,
        )
    assert {p.name: p.read_text() for p in out.iterdir()} == previous
    assert [p.name for p in tmp_path.iterdir()] == ["cnn-mnist"]  # no staging folder left
