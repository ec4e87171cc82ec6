"""The Lambda package: its sizes against Lambda's limits, and its cold start measured locally.

    python -m benchmarks.serverless [--runs 5]

Builds the package (serverless/build.py), unpacks it into an empty virtual environment of
the runtime's Python version and starts a fresh process per run (serverless/local.py), as a
cold Lambda does: interpreter start, import of the handler with the model load, and the first
prediction of a canvas digit sent as API Gateway sends it (HTTP API event, base64 PNG body).
Runs alternate between the package as built and a copy without its bytecode (what a cold
start costs when every module is compiled on import, as /var/task is read-only). Then one
warm request after another in the last process. Prints every run and the medians. Lambda's
own cold start adds fetching and unpacking the package, which cannot be measured here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path

from serverless import build
from serverless.events import http_api_event
from serverless.local import LocalFunction

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
        built = LocalFunction.unpack(work / "package" / manifest.zip_name, python,
                                     work / "built")
        bare_root = work / "bare" / "task"
        shutil.copytree(built.task_root, bare_root)
        for cache in list(bare_root.rglob("__pycache__")):
            shutil.rmtree(cache)
        bare = LocalFunction(bare_root, python, work / "bare" / "env")
        event = http_api_event("POST", "/predict", PAYLOAD.read_bytes(),
                               {"Content-Type": "image/png"}, base64_encoded=True)
        runs: dict[str, list] = {"with bytecode": [], "without bytecode": []}
        for n in range(args.runs):
            for name, function in (("with bytecode", built), ("without bytecode", bare)):
                last = n == args.runs - 1 and name == "with bytecode"
                run = function.cold_start([event] * (WARM_REQUESTS + 1 if last else 1))
                assert run.responses[0]["statusCode"] == 200, run.responses[0]
                runs[name].append(run)
                print(f"cold start {n + 1} {name:16} ({run.python}): {run.total_s * 1000:5.0f} "
                      f"ms = interpreter {run.interpreter_s * 1000:3.0f} + import and model "
                      f"load {run.import_and_load_s * 1000:4.0f} + first prediction "
                      f"{run.first_prediction_s * 1000:3.0f} ms; digit "
                      f"{json.loads(run.responses[0]['body'])['digit']}")
        medians = {}
        for name, measured in runs.items():
            totals = [r.total_s for r in measured]
            medians[name] = statistics.median(totals)
            print(f"median cold start {name}: {medians[name] * 1000:.0f} ms over "
                  f"{len(totals)} fresh processes (min {min(totals) * 1000:.0f}, "
                  f"max {max(totals) * 1000:.0f})")
        ratio = medians["without bytecode"] / medians["with bytecode"]
        print(f"bytecode makes the cold start {ratio:.1f}x faster")
        warm = [json.loads(r["body"])["timing_ms"]["total"]
                for r in runs["with bytecode"][-1].responses[1:]]
        print(f"warm: {len(warm)} requests, median {statistics.median(warm):.1f} ms in the app")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
