"""Repository-wide checks: lint and the per-tier dependency split."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format",
                             "concise", str(REPO_ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_backend_requirements_do_not_pull_tensorflow():
    lines = (REPO_ROOT / "backend" / "requirements.txt").read_text().lower().splitlines()
    packages = [line.split("==")[0] for line in lines if line and not line.startswith("#")]
    assert "ai-edge-litert" in packages
    assert not {"tensorflow", "tensorflow-cpu", "keras", "tf-keras"} & set(packages)


def test_every_requirement_is_pinned():
    for path in [REPO_ROOT / "requirements-dev.txt", *REPO_ROOT.glob("*/requirements*.txt")]:
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-r"):
                assert "==" in line, f"{path.name}: {line} is not pinned"
