"""The training notebook runs headless, end to end, on a subset, without downloading anything."""

from __future__ import annotations

import json
import uuid

import nbformat
import pytest

from backend.feedback.export import export_npz
from backend.feedback.store import Correction
from backend.registry import production_dir
from tests.conftest import REPO_ROOT
from training.export import EXPORT_FILES
from training.model import MODEL_NAME

NOTEBOOK = REPO_ROOT / "training" / "mnist_cnn.ipynb"

pytestmark = [pytest.mark.slow, pytest.mark.notebook]


def corrections_export(folder, mnist_test_set):
    """40 visitors' corrections as `python -m backend.feedback export` writes them."""
    images, labels = mnist_test_set
    items = [Correction(id=str(uuid.UUID(int=i + 1)), model_version="0" * 16, predicted=None,
                        corrected=int(labels[-i - 1]), mode="digit",
                        image=images[-i - 1].tobytes()) for i in range(40)]
    path = folder / "corrections.npz"
    export_npz(items, path, holdout=0.25)
    return path


@pytest.fixture(scope="module")
def executed(tmp_path_factory, mnist_npz, mnist_test_set):
    import papermill

    work = tmp_path_factory.mktemp("notebook")
    keras_home = work / "keras-home"
    keras_home.mkdir()
    out_dir = work / "models"
    output = work / "executed.ipynb"
    with pytest.MonkeyPatch.context() as patch:
        # keras caches downloads under KERAS_HOME/datasets, and urllib honours the proxy
        # variables: a download would fail (closed port) or leave a file behind. The kernel
        # inherits this environment.
        patch.setenv("KERAS_HOME", str(keras_home))
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            patch.setenv(proxy, "http://127.0.0.1:9")
        patch.delenv("NO_PROXY", raising=False)
        patch.delenv("no_proxy", raising=False)
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(output),
            parameters={"EPOCHS": 1, "LIMIT": 1000, "DATA": str(mnist_npz), "OUT": str(out_dir),
                        "CORRECTIONS": str(corrections_export(work, mnist_test_set))},
            cwd=str(NOTEBOOK.parent),
            kernel_name="python3",
            progress_bar=False,
        )
    return {"notebook": nbformat.read(output, as_version=4), "out": production_dir(out_dir),
            "keras_home": keras_home}


def test_every_export_file_is_written(executed):
    for name in EXPORT_FILES:
        path = executed["out"] / name
        assert path.is_file() and path.stat().st_size > 0, name


def test_metadata_describes_the_quick_run(executed):
    metadata = json.loads((executed["out"] / "metadata.json").read_text())
    assert metadata["name"] == MODEL_NAME
    assert metadata["version"] == executed["out"].name
    assert metadata["epochs"] == 1
    evaluation = metadata["evaluation"]
    assert evaluation["mnist_test"]["images"] == evaluation["canvas"]["images"] == 1000
    assert evaluation["held_out_non_digits"]["images"] > 0
    assert 0.05 <= metadata["calibration"]["temperature"] <= 20  # the search range
    assert metadata["test_images"] == 1000
    assert 0.0 <= metadata["test_accuracy"] <= 1.0
    assert metadata["parity"]["images"] == 1000
    assert max(metadata["parity"]["max_abs_prob_delta"].values()) <= 1e-5


def test_nothing_was_downloaded(executed):
    assert not (executed["keras_home"] / "datasets").exists()


def test_notebook_ran_without_errors_and_shows_its_figures(executed):
    outputs = [output for cell in executed["notebook"].cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])]
    assert [o for o in outputs if o.get("output_type") == "error"] == []
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    # samples, augmentation, negatives, learning curves, confusion matrix, worst misclassified
    assert len(figures) >= 6


def test_the_corrections_are_taught_and_scored(executed):
    metadata = json.loads((executed["out"] / "metadata.json").read_text())
    report = metadata["evaluation"]["corrections"]
    assert report["taught"]["images"] + report["held_out"]["images"] == 40
    assert report["held_out"]["images"] > 0 and report["held_out"]["accuracy"] is not None
    assert metadata["training"]["corrections"]["file"] == "corrections.npz"
