"""The built function package: reproducible, within Lambda's limits, and working on its own.

The zip is unpacked and run, as Lambda runs it, in an empty virtual environment of the
runtime's Python version (3.13 here, not the 3.11 of the repository's environments), in a
fresh process with no PYTHONPATH: every module it loads must come from the package or the
standard library.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from serverless import build
from serverless.events import http_api_event, rest_api_event
from tests.drawings import encode, number_drawing, to_image

pytestmark = [pytest.mark.slow, pytest.mark.serverless]


def test_the_package_fits_lambda_and_holds_one_model_version(function_package):
    zip_path, manifest = function_package
    assert manifest.fits
    assert manifest.unzipped_bytes <= build.UNZIPPED_LIMIT
    registry = json.loads((build.REPO / "models" / "registry.json").read_text())
    assert manifest.model_version == registry["production"]["version"]
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert sum(i.file_size for i in archive.infolist()) == manifest.unzipped_bytes
        packaged = json.loads(archive.read("models/registry.json"))
    assert packaged["production"]["version"] == manifest.model_version
    assert packaged["candidate"] is None
    versions = {n.split("/")[2] for n in names if n.startswith("models/cnn-mnist/")}
    assert versions == {manifest.model_version}
    assert "backend/lambda_function.py" in names and "serving.env" in names
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"sqlalchemy", "alembic", "gunicorn", "psycopg", "bin"}
    # Bytecode only for what the warm-up imported, hash-checked against its source (never
    # stale, whatever the zip's timestamps), and only where 3.13 compiled it.
    with zipfile.ZipFile(zip_path) as archive:
        flags = {n: int.from_bytes(archive.read(n)[4:8], "little")
                 for n in names if n.endswith(".pyc")}
    if build.runtime_python():
        assert len(flags) == manifest.bytecode_modules > 200
        assert set(flags.values()) == {0b11}  # hash-based, checked
        assert all(".cpython-313.pyc" in n for n in flags)
        assert "backend/__pycache__/lambda_function.cpython-313.pyc" in flags


def test_the_build_is_reproducible(function_package, tmp_path):
    again = build.build(tmp_path)
    assert again.code_sha256 == function_package[1].code_sha256


def test_the_package_answers_in_a_clean_runtime_python(local_function, digit_png,
                                                       mnist_test_set):
    png, label = digit_png
    images, labels = mnist_test_set
    rng = np.random.default_rng(3)
    picks = rng.choice(len(images), 5, replace=False)
    number = encode(to_image(number_drawing([images[i] for i in picks], rng)[0], "rgba-alpha"))
    blank = encode(Image.new("RGBA", (200, 200), (0, 0, 0, 0)))
    events = [
        http_api_event("POST", "/predict", png, {"Content-Type": "image/png"},
                       base64_encoded=True),
        rest_api_event("POST", "/predict/number", number, {"Content-Type": "image/png"},
                       base64_encoded=True),
        http_api_event("POST", "/predict", blank, {"Content-Type": "image/png"},
                       base64_encoded=True),
        rest_api_event("POST", "/predict", '{"image": ', {"Content-Type": "application/json"}),
    ]
    run = local_function.cold_start(events)
    print(f"cold start in {run.python}: {run.total_s:.2f} s (interpreter "
          f"{run.interpreter_s:.2f}, import + model {run.import_and_load_s:.2f}, first "
          f"prediction {run.first_prediction_s:.3f})")
    assert run.python.startswith(build.RUNTIME.removeprefix("python") + ".")
    assert run.outside_package == []
    answers = [(r["statusCode"], json.loads(r["body"])) for r in run.responses]
    assert answers[0][0] == 200 and answers[0][1]["digit"] == label
    assert answers[1][0] == 200
    assert answers[1][1]["number"] == "".join(str(labels[i]) for i in picks)
    assert answers[2][0] == 422 and answers[2][1]["error"]["code"] == "empty_drawing"
    assert answers[3][0] == 400
