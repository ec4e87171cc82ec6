"""metadata.json as the one model contract: what the backend and the page read from it, what
they refuse, and that the preprocessing constants of both languages equal what it states."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from backend import preprocess
from backend.contract import ContractError, read_contract
from tests.conftest import MODEL_DIR, REPO_ROOT

PREPROCESS_JS = REPO_ROOT / "frontend" / "static" / "js" / "preprocess.js"
LABELS = [*(str(d) for d in range(10)), "not_a_digit"]


@pytest.fixture
def version_dir(tmp_path):
    target = tmp_path / MODEL_DIR.name
    shutil.copytree(MODEL_DIR, target)
    return target


def edit_metadata(version_dir, change) -> None:
    path = version_dir / "metadata.json"
    metadata = json.loads(path.read_text())
    change(metadata)
    path.write_text(json.dumps(metadata))


def test_a_digit_label_is_read_as_that_digit(version_dir):
    contract = read_contract(version_dir)
    probabilities = np.zeros(len(contract.labels), np.float32)
    probabilities[7] = 0.9
    answer = contract.answer(probabilities)
    assert answer["digit"] == 7 and "reason" not in answer
    assert answer["confidence"] == pytest.approx(0.9)


def test_a_label_that_is_no_digit_answers_null_with_the_reason(version_dir):
    edit_metadata(version_dir, lambda m: m.update(labels=LABELS,
                                                  output={**m["output"], "shape": [11]}))
    contract = read_contract(version_dir)
    probabilities = np.full(11, 0.01, np.float32)
    probabilities[10] = 0.9
    answer = contract.answer(probabilities)
    assert answer["digit"] is None and answer["reason"] == "not_a_digit"
    assert len(answer["probabilities"]) == 11


@pytest.mark.parametrize("change, message", [
    (lambda m: m["input"].update(shape=[32, 32, 1]), "input"),
    (lambda m: m["input"].update(box=22), "box"),
    (lambda m: m["input"].update(centre_of_mass=13.5), "centre_of_mass"),
    (lambda m: m["output"].update(shape=[12]), "output shape"),
    (lambda m: m.pop("labels"), "lacks"),
    (lambda m: m.update(labels=["a", "b"], output={**m["output"], "shape": [2]}), "no digit"),
])
def test_a_model_the_preprocessing_cannot_feed_is_refused(version_dir, change, message):
    edit_metadata(version_dir, change)
    with pytest.raises(ContractError, match=message):
        read_contract(version_dir)


def test_the_file_names_come_from_the_metadata(version_dir):
    (version_dir / "model.tflite").rename(version_dir / "renamed.tflite")
    edit_metadata(version_dir, lambda m: m["files"].update(litert="renamed.tflite"))
    assert read_contract(version_dir).file_for("litert") == "renamed.tflite"


def js_constant(name: str) -> float:
    match = re.search(rf"^export const {name} = ([0-9.]+);", PREPROCESS_JS.read_text(), re.M)
    assert match, f"{name} not found in preprocess.js"
    return float(match.group(1))


def test_both_preprocessing_implementations_make_what_the_served_model_states():
    spec = json.loads((MODEL_DIR / "metadata.json").read_text())["input"]
    stated = {"FRAME": spec["shape"][0], "BOX": spec["box"], "CENTRE": spec["centre_of_mass"]}
    assert spec["shape"] == [spec["shape"][0], spec["shape"][0], 1]
    for name, value in stated.items():
        assert getattr(preprocess, name) == value, f"backend/preprocess.py {name}"
        assert js_constant(name) == value, f"preprocess.js {name}"
