"""Run a built package as Lambda would, on this machine: the package test and the benchmark.

Unpacks the zip, makes an empty virtual environment of the runtime's Python version (nothing
installed in it) and runs serverless/coldstart.py there in a fresh process per call.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

COLDSTART = Path(__file__).with_name("coldstart.py")


@dataclass(frozen=True)
class ColdStart:
    python: str
    interpreter_s: float  # starting the interpreter
    import_and_load_s: float  # importing the handler module, which loads the model
    first_prediction_s: float
    responses: list[dict]
    outside_package: list[str]

    @property
    def total_s(self) -> float:
        """From launching the process to the first answer."""
        return self.interpreter_s + self.import_and_load_s + self.first_prediction_s


class LocalFunction:
    """An unpacked package and a clean environment to run it in."""

    def __init__(self, zip_path: Path, python: str, workdir: Path) -> None:
        self.task_root = workdir / "task"
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(self.task_root)
        env_dir = workdir / "env"
        subprocess.run([python, "-m", "venv", "--without-pip", str(env_dir)], check=True)
        self.python = env_dir / "bin" / "python"

    def cold_start(self, events: list[dict]) -> ColdStart:
        """A fresh process: import the handler, then answer ``events`` in order."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(events, handle)
        # Only what Lambda's environment would hold: no PYTHONPATH, no user site-packages,
        # and no bytecode cache: /var/task is read-only there, so every cold start compiles
        # the modules it imports (the package ships none: see serverless/build.py).
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.task_root),
               "LAMBDA_TASK_ROOT": str(self.task_root), "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            result = subprocess.run([str(self.python), "-s", str(COLDSTART),
                                     str(self.task_root), handle.name, repr(time.time())],
                                    env=env,
                                    capture_output=True, text=True, timeout=120,
                                    cwd=self.task_root)
        finally:
            os.unlink(handle.name)
        if result.returncode != 0:
            raise RuntimeError(f"the package failed in a clean environment:\n{result.stderr}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
        return ColdStart(**report)
