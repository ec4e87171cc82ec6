"""Fixtures shared by every suite."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from backend.registry import open_store, production_dir
from tests.drawings import data_url, encode, to_image

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_ROOT = REPO_ROOT / "models"  # the registry (backend/registry.py)
MODEL_DIR = production_dir(MODELS_ROOT)  # the committed production version's folder
MODEL_NAME = open_store(MODELS_ROOT).registry.model
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Debian's Chromium, offline: no sandbox (root in CI), no GPU, no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def mnist_npz() -> Path:
    """The local MNIST file named by $MNIST_NPZ (`make test` sets it; tests never download)."""
    value = os.environ.get("MNIST_NPZ")
    if not value:
        pytest.fail("MNIST_NPZ is not set: run the tests through `make test`, or export it")
    path = Path(value)
    if not path.is_file():
        pytest.fail(f"MNIST_NPZ={value} does not exist")
    return path


@pytest.fixture(scope="session")
def mnist_test_set(mnist_npz: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test images (uint8) and labels."""
    with np.load(mnist_npz) as npz:
        return npz["x_test"], npz["y_test"]


@pytest.fixture(scope="session")
def digit_png(mnist_test_set) -> tuple[bytes, int]:
    """A canvas-style PNG (transparent, black ink) of the first MNIST test digit, and its label."""
    images, labels = mnist_test_set
    canvas = np.zeros((280, 280))
    canvas[60:200, 80:220] = np.kron(images[0] / 255.0, np.ones((5, 5)))
    return encode(to_image(canvas, "rgba-alpha")), int(labels[0])


@pytest.fixture(scope="session")
def digit_data_url(digit_png) -> str:
    return data_url(digit_png[0])


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run the tests through `make test`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def feedback_data_home(tmp_path_factory):
    """Apps and servers the tests start keep their default feedback database (SQLite under
    $XDG_DATA_HOME) in a temporary folder, never in the user's home."""
    folder = tmp_path_factory.mktemp("xdg-data")
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = previous


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL server (Debian's package) for the session: its database URL."""
    import shutil
    import tempfile

    from tests.servers import PostgresUnavailable, free_port, start_postgres, stop

    # Not under pytest's tmp folder (mode 0700): as root the server runs as `postgres`,
    # which must reach its data folder.
    folder = Path(tempfile.mkdtemp(prefix="mnist-pg-"))
    folder.chmod(0o755)
    try:
        process, url = start_postgres(folder / "data", free_port(),
                                      "test-only-" + os.urandom(6).hex())
    except PostgresUnavailable as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL cannot start here: {exc}")
    yield url
    stop(process)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def function_package(tmp_path_factory):
    """The Lambda package of the production version (serverless/build.py), built once."""
    from serverless import build

    out = tmp_path_factory.mktemp("function-package")
    manifest = build.build(out)
    print(build.report(manifest))
    return out / manifest.zip_name, manifest


@pytest.fixture(scope="session")
def local_function(function_package, tmp_path_factory):
    """That package unpacked into an empty virtual environment of the runtime's Python."""
    from serverless import build
    from serverless.local import LocalFunction

    python = build.runtime_python()
    if python is None:
        pytest.skip(f"no {build.RUNTIME} here (set SERVERLESS_PYTHON to one)")
    return LocalFunction.unpack(function_package[0], python,
                                tmp_path_factory.mktemp("function"))
