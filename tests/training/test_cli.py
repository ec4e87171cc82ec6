"""`python -m training`: the notebook's steps headless, on a subset, into a registry."""

from __future__ import annotations

import json

import pytest

from backend.registry import open_store
from training.cli import main

pytestmark = pytest.mark.slow


def test_a_quick_headless_run_exports_a_version(mnist_npz, tmp_path, capsys):
    out = tmp_path / "models"
    assert main(["--epochs", "1", "--limit", "400", "--data", str(mnist_npz), "--out", str(out),
                 "--traced", "40", "--figures", str(tmp_path / "figures")]) == 0
    store = open_store(out)
    metadata = json.loads((store.version_dir(store.registry.production) / "metadata.json")
                          .read_text())
    assert metadata["test_images"] == 400 and metadata["epochs"] == 1
    assert metadata["training"]["config"]["traced"] == 40
    printed = capsys.readouterr().out
    assert "MNIST test:" in printed and "non-digits:" in printed and "ECE" in printed
    assert {p.name for p in (tmp_path / "figures").iterdir()} >= {"confusion_matrix.png",
                                                                  "learning_curves.png"}


def test_a_missing_data_file_is_a_clear_error(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nope.npz"), "--out", str(tmp_path)]) == 2
    assert "MNIST file not found" in capsys.readouterr().err
