"""Visitors' corrections into the next model: the review CLI's export, then a training run
that is taught some of them, scored on the others, and lands as a new version beside the
served one."""

from __future__ import annotations

import json
import shutil
import uuid

import numpy as np
import pytest

from backend.feedback import migrate, review
from backend.feedback.store import Correction, FeedbackStore
from backend.registry import open_store
from tests.conftest import MODELS_ROOT
from training.cli import main
from training.corrections import load_corrections
from training.data import DatasetError


def stored_corrections(store: FeedbackStore, images: np.ndarray, labels: np.ndarray,
                       version: str) -> list[str]:
    ids = []
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        correction = Correction(id=str(uuid.uuid4()), model_version=version,
                                predicted=None if index % 3 == 0 else int((label + 1) % 10),
                                corrected=int(label), mode="digit", image=image.tobytes())
        store.add(correction)
        ids.append(correction.id)
    return ids


@pytest.fixture
def corrections_npz(tmp_path, mnist_test_set, monkeypatch):
    """60 accepted corrections (real MNIST test digits) and 5 rejected, exported by the CLI."""
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.sqlite'}")
    migrate.upgrade(store)
    images, labels = mnist_test_set
    version = open_store(MODELS_ROOT).registry.production
    accepted = stored_corrections(store, images[-60:], labels[-60:], version)
    rejected = stored_corrections(store, images[:5], labels[:5], version)
    store.set_status(accepted, "accepted")
    store.set_status(rejected, "rejected")
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", store.url)
    out = tmp_path / "corrections.npz"
    assert review.main(["export", str(out), "--holdout", "0.25"]) == 0
    store.close()
    return out


def test_the_export_is_an_mnist_npz_with_provenance(corrections_npz):
    corrections = load_corrections(corrections_npz)
    taught, held_out = len(corrections.taught[1]), len(corrections.held_out[1])
    assert taught + held_out == 60 and 0 < held_out < 30
    assert corrections.predicted_taught.shape == (taught,)
    # Every third was read as "not a digit", the others as the wrong digit.
    assert set(np.unique(corrections.predicted_taught)) - set(range(10)) == {-1}


def test_a_file_that_is_not_an_export_is_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match="lacks keys"):
        load_corrections(bad)


@pytest.mark.slow
def test_retraining_with_corrections_lands_a_new_version_with_a_report(
        corrections_npz, mnist_npz, tmp_path, capsys):
    registry = tmp_path / "models"
    production = open_store(MODELS_ROOT).registry.production
    registry.mkdir()
    shutil.copy(MODELS_ROOT / "registry.json", registry / "registry.json")
    shutil.copytree(open_store(MODELS_ROOT).version_dir(production),
                    registry / "cnn-mnist" / production)
    before = (registry / "registry.json").read_text()

    assert main(["--epochs", "1", "--limit", "300", "--data", str(mnist_npz),
                 "--out", str(registry), "--corrections", str(corrections_npz),
                 "--corrections-weight", "5"]) == 0
    printed = capsys.readouterr().out
    assert "corrections: taught" in printed and "held out" in printed

    assert (registry / "registry.json").read_text() == before  # production still serves
    store = open_store(registry)
    (new,) = set(store.available()) - {production}
    metadata = json.loads((store.version_dir(new) / "metadata.json").read_text())
    expected = load_corrections(corrections_npz)
    provenance = metadata["training"]["corrections"]
    assert provenance["file"] == "corrections.npz" and provenance["weight"] == 5
    assert provenance["taught"] == len(expected.taught[1])
    report = metadata["evaluation"]["corrections"]
    for side, (_, labels) in (("taught", expected.taught), ("held_out", expected.held_out)):
        assert report[side]["images"] == len(labels)
        assert 0.0 <= report[side]["accuracy"] <= 1.0
        # The served model read none of them right (the fixture's readings are all wrong).
        assert report[side]["accuracy_when_collected"] == 0.0
    assert metadata["evaluation"]["mnist_test"]["images"] == 300
