"""The Lambda package: its sizes against Lambda's limits, and its cold start measured locally.

    python -m benchmarks.serverless [--runs 5]

Builds the package (serverless/build.py), unpacks it into an empty virtual environment of
the runtime's Python version and starts a fresh process per run (serverless/local.py), as a
cold Lambda does: interpreter start, import of the handler with the model load, and the first
prediction of a canvas digit sent as API Gateway sends it (HTTP API event, base64 PNG body).
Then one warm request after another in the last process. Prints every run and the median.
Lambda's own cold start adds fetching and unpacking the package, which cannot be measured here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from serverless import build
from serverless.local import LocalFunction
from tests.serverless.events import http_api_event

PAYLOAD = Path(__file__).with_name("canvas-digit.png")  # the page's own 138x138 PNG
WARM_REQUESTS = 50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    python = build.runtime_python()
    if python is None:
        raise SystemExit(f"no {build.RUNTIME} found: set SERVERLESS_PYTHON to one")
    with tempfile.TemporaryDirectory(prefix="bench-serverless-") as tmp:
        work = Path(tmp)
        manifest = build.build(work / "package")
        print(build.report(manifest))
        function = LocalFunction(work / "package" / manifest.zip_name, python, work / "run")
        event = http_api_event("POST", "/predict", PAYLOAD.read_bytes(),
                               {"Content-Type": "image/png"}, base64_encoded=True)
        runs = []
        for n in range(args.runs):
            run = function.cold_start([event] * (WARM_REQUESTS + 1 if n == args.runs - 1 else 1))
            assert run.responses[0]["statusCode"] == 200, run.responses[0]
            runs.append(run)
            print(f"cold start {n + 1} ({run.python}): {run.total_s * 1000:6.0f} ms = "
                  f"interpreter {run.interpreter_s * 1000:4.0f} + import and model load "
                  f"{run.import_and_load_s * 1000:5.0f} + first prediction "
                  f"{run.first_prediction_s * 1000:4.0f} ms; digit "
                  f"{json.loads(run.responses[0]['body'])['digit']}")
        totals = [r.total_s for r in runs]
        print(f"median cold start {statistics.median(totals) * 1000:.0f} ms over {len(runs)} "
              f"fresh processes (min {min(totals) * 1000:.0f}, max {max(totals) * 1000:.0f})")
        warm = [json.loads(r["body"])["timing_ms"]["total"] for r in runs[-1].responses[1:]]
        print(f"warm: {len(warm)} requests, median {statistics.median(warm):.1f} ms in the app")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
