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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

COLDSTART = Path(__file__).with_name("coldstart.py")
GATEWAY = Path(__file__).with_name("gateway.py")
TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "serverless" / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, ...), read as plain values."""


_CloudFormationLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: loader.construct_scalar(node)
    if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node)
    if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node))


def route_keys(template: Path = TEMPLATE) -> list[str]:
    """The HTTP API's routes, as the stack's template declares them."""
    resources = yaml.load(template.read_text(), Loader=_CloudFormationLoader)["Resources"]
    return [r["Properties"]["RouteKey"] for r in resources.values()
            if r["Type"] == "AWS::ApiGatewayV2::Route"]


@dataclass(frozen=True)
class ColdStart:
    python: str
    interpreter_s: float  # starting the interpreter
    import_and_load_s: float  # importing the handler module, which loads the model
    first_prediction_s: float
    responses: list[dict]
    outside_package: list[str]
    package_modules: list[str]  # the package's source files it imported, relative

    @property
    def total_s(self) -> float:
        """From launching the process to the first answer."""
        return self.interpreter_s + self.import_and_load_s + self.first_prediction_s


class LocalFunction:
    """A package's files (Lambda's /var/task) and an empty environment to run them in."""

    def __init__(self, task_root: Path, python: str, env_dir: Path) -> None:
        self.task_root = task_root
        subprocess.run([python, "-m", "venv", "--without-pip", str(env_dir)], check=True)
        self.python = env_dir / "bin" / "python"

    @classmethod
    def unpack(cls, zip_path: Path, python: str, workdir: Path) -> LocalFunction:
        """The zip unpacked into ``workdir``/task, with its environment in ``workdir``/env."""
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(workdir / "task")
        return cls(workdir / "task", python, workdir / "env")

    def environment(self, settings: Mapping[str, str] | None = None) -> dict[str, str]:
        """Only what Lambda's environment would hold, plus the function's ``settings``: no
        PYTHONPATH, no user site-packages, and no bytecode cache (/var/task is read-only
        there, so every cold start compiles the modules it imports)."""
        return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(self.task_root),
                "LAMBDA_TASK_ROOT": str(self.task_root), "PYTHONDONTWRITEBYTECODE": "1",
                **(settings or {})}

    def start_gateway(self, port: int, settings: Mapping[str, str] | None = None,
                      log_path: Path | None = None) -> subprocess.Popen:
        """serverless/gateway.py in front of the package, with the template's routes."""
        log = open(log_path, "wb") if log_path else None  # noqa: SIM115
        return subprocess.Popen([str(self.python), "-s", str(GATEWAY), str(self.task_root),
                                 str(port), *route_keys()], env=self.environment(settings),
                                cwd=self.task_root, stdout=log,
                                stderr=subprocess.STDOUT if log else None,
                                start_new_session=True)

    def cold_start(self, events: list[dict]) -> ColdStart:
        """A fresh process: import the handler, then answer ``events`` in order."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(events, handle)
        env = self.environment()
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


def main(argv: list[str] | None = None) -> int:
    """`make serverless-local`: the built package behind the local gateway, in the foreground."""
    import argparse
    import shutil

    from serverless import build

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--package-dir", type=Path, default=build.DEFAULT_OUT)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--cors-origin", default="http://localhost:8080",
                        help="the page's origin (make run serves it on localhost:8080)")
    args = parser.parse_args(argv)
    python = build.runtime_python()
    if python is None:
        raise SystemExit(f"no {build.RUNTIME} here: set SERVERLESS_PYTHON to one")
    manifest = json.loads((args.package_dir / "manifest.json").read_text())
    workdir = args.package_dir / "local"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    function = LocalFunction.unpack(args.package_dir / manifest["zip_name"], python, workdir)
    print(f"model {manifest['model_version']} in {python}; the page: apiBase "
          f"http://127.0.0.1:{args.port} in frontend/static/config.js, and "
          f"API_ORIGIN=http://127.0.0.1:{args.port} for its nginx", flush=True)
    gateway = function.start_gateway(args.port, {"CORS_ORIGINS": args.cors_origin})
    try:
        return gateway.wait()
    except KeyboardInterrupt:
        gateway.terminate()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
