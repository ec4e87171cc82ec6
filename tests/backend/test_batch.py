"""Batch evaluation: a version scored on an npz, a folder with a bad file, and two compared."""

from __future__ import annotations

import csv
import json
import zipfile

import numpy as np
import pytest

from backend import batch
from tests.conftest import MODEL_NAME, MODELS_ROOT
from tests.drawings import canvas_drawing, encode, to_image


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory, mnist_test_set):
    path = tmp_path_factory.mktemp("batch") / "small.npz"
    np.savez(path, x_test=mnist_test_set[0][:200], y_test=mnist_test_set[1][:200])
    return path


@pytest.fixture(scope="module")
def drawings_folder(tmp_path_factory, mnist_test_set):
    """Canvas PNGs in folders named by their digit, one unreadable file, one unlabelled."""
    folder = tmp_path_factory.mktemp("drawings")
    rng = np.random.default_rng(5)
    images, labels = mnist_test_set
    for i in range(12):
        target = folder / str(int(labels[i]))
        target.mkdir(exist_ok=True)
        (target / f"d{i}.png").write_bytes(encode(to_image(canvas_drawing(images[i], rng),
                                                           "rgba-alpha")))
    (folder / "3").mkdir(exist_ok=True)
    (folder / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "unlabelled.png").write_bytes(encode(to_image(canvas_drawing(images[50], rng),
                                                            "rgba-alpha")))
    return folder


def read_rows(path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_evaluate_an_npz_writes_rows_and_a_summary(small_npz, tmp_path, mnist_test_set):
    out = tmp_path / "out"
    assert batch.main(["--models", str(MODELS_ROOT), "evaluate", "--data", str(small_npz),
                       "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    rows = read_rows(out / "results.csv")
    assert summary["items"] == len(rows) == 200
    assert summary["accuracy"] >= 0.97
    correct = sum(r["correct"] == "True" for r in rows)
    assert correct / 200 == pytest.approx(summary["accuracy"])
    counts = np.array(summary["confusion"]["counts"])
    assert counts.sum() == 200
    assert counts.sum(axis=1).tolist() == np.bincount(mnist_test_set[1][:200], minlength=10
                                                      ).tolist()
    assert set(summary["per_class_accuracy"]) == {str(d) for d in range(10)}
    assert summary["latency_ms"]["p50"] > 0


def test_a_bad_file_is_reported_not_fatal(drawings_folder, tmp_path):
    out = tmp_path / "out"
    assert batch.main(["--models", str(MODELS_ROOT), "evaluate", "--data",
                       str(drawings_folder), "--out", str(out), "--quiet"]) == 0
    rows = {r["source"]: r for r in read_rows(out / "results.csv")}
    assert rows["3/broken.png"]["error"].startswith("invalid_image")
    assert rows["unlabelled.png"]["label"] == "" and rows["unlabelled.png"]["prediction"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["items"] == 14 and summary["unreadable"] == 1 and summary["labelled"] == 12


def test_a_zip_of_images_reads_like_the_folder(drawings_folder, tmp_path):
    archive = tmp_path / "drawings.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(drawings_folder.rglob("*.png")):
            zf.write(path, path.relative_to(drawings_folder))
    items = batch.load_items(archive)
    assert len(items) == 14
    assert sum(item.error is not None for item in items) == 1


def test_compare_two_versions_reports_their_disagreements(small_npz, tmp_path):
    from backend.registry import Registry, write_registry
    from tests.backend.test_versions import PRODUCTION, SCRAMBLED, add_version

    add_version(tmp_path, PRODUCTION)
    add_version(tmp_path, SCRAMBLED, labels_reversed=True)
    write_registry(tmp_path, Registry(MODEL_NAME, PRODUCTION))
    out = tmp_path / "cmp"
    assert batch.main(["--models", str(tmp_path), "compare", PRODUCTION, SCRAMBLED,
                       "--data", str(small_npz), "--out", str(out), "--quiet"]) == 0
    comparison = json.loads((out / "comparison.json").read_text())
    assert comparison["a"]["accuracy"] > 0.9 > comparison["b"]["accuracy"]
    assert comparison["disagreements"] > 150
    html = (out / "report.html").read_text()
    assert html.count("<img src='data:image/png;base64,") == min(comparison["disagreements"], 500)


def test_an_unknown_version_is_a_clear_error(small_npz, tmp_path, capsys):
    assert batch.main(["--models", str(MODELS_ROOT), "evaluate", "--version", "ffffffffffffffff",
                       "--data", str(small_npz), "--out", str(tmp_path), "--quiet"]) == 2
    assert "unknown version" in capsys.readouterr().err
