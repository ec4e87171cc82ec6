"""Load benchmark: the real backend (gunicorn + LiteRT) beside the tutorial's app, in one run.

wrk drives the backend at 1, 4 and 16 connections with three payloads: the page's own PNG of
a drawn digit (138x138) as a JSON data URL, the same 7 on a 280x280 canvas drawn by Chromium
(what the original tutorial page and most clients send) as a JSON data URL, and a 1024x1024
photo-like JPEG as a raw body; and the tutorial's app with its own 280x280 canvas data URL.
The script prints p50/p99 latency, req/s and errors for each, the backend workers' RSS, the
ratios, and whether the targets are met: 280² throughput >= 85 % of 138² (same run), >= 50x
the naive app with the 280² payload at 4 connections, 0 errors, worker RSS <= 150 MB.

    make bench                  # or: .venv/bin/python -m benchmarks.load [--duration 10]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from backend.registry import production_dir
from tests.servers import (
    REPO_ROOT,
    free_port,
    start_gunicorn,
    stop,
    wait_for_http,
    worker_memory_mb,
)

MODEL_DIR = production_dir(REPO_ROOT / "models")  # the naive app loads its model.keras
# What the page really posts: Chromium's PNG of the drawing pad (276x276 CSS px inside its
# border) after a mouse traced MNIST test digit 0 (a 7) on it; captured from the running app.
PAYLOAD = Path(__file__).resolve().parent / "canvas-digit.png"
# The same 7 on the tutorial's 280x280 canvas, as Chromium encodes it (make_canvas_280.py).
PAYLOAD_280 = Path(__file__).resolve().parent / "canvas-digit-280.png"
DEV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
local f = assert(io.open("{body_path}", "rb"))
wrk.body = f:read("*all")
f:close()
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""
TARGETS = {"ratio_280_to_138": 0.85, "speedup_280_at_4": 50.0, "rss_mb": 150.0}


def photo_jpeg(png: bytes, side: int = 1024) -> bytes:
    """The drawing as a phone photo: dark ink on unevenly lit, grainy paper, JPEG quality 90."""
    alpha = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA").resize(
        (side * 3 // 5, side * 3 // 5), Image.LANCZOS))[..., 3] / 255.0
    rng = np.random.default_rng(0)
    paper = 200 + 30 * np.linspace(0, 1, side)[np.newaxis, :] + rng.normal(0, 6, (side, side))
    top = side // 5
    paper[top : top + alpha.shape[0], top : top + alpha.shape[1]] *= 1 - 0.8 * alpha
    buffer = io.BytesIO()
    Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).convert("RGB").save(
        buffer, "JPEG", quality=90)
    return buffer.getvalue()


def json_data_url(png: bytes) -> str:
    return json.dumps({"image": "data:image/png;base64," + base64.b64encode(png).decode()})


def run_wrk(url: str, script: Path, connections: int, duration: int) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
               "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    seconds = result["duration_us"] / 1e6
    return {
        "connections": connections,
        "requests": result["requests"],
        "rps": result["requests"] / seconds,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "errors": result["errors"],
    }


def median_row(rows: list[dict]) -> dict:
    """Per metric, the median over rounds (this VM's speed drifts by tens of percent)."""
    return {
        "connections": rows[0]["connections"],
        "rounds": len(rows),
        "requests": sum(r["requests"] for r in rows),
        "rps": statistics.median(r["rps"] for r in rows),
        "rps_range": [min(r["rps"] for r in rows), max(r["rps"] for r in rows)],
        "p50_ms": statistics.median(r["p50_ms"] for r in rows),
        "p99_ms": statistics.median(r["p99_ms"] for r in rows),
        "errors": sum(r["errors"] for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per level")
    parser.add_argument("--naive-duration", type=int, default=5)
    parser.add_argument("--connections", default="1,4,16")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds; each figure is the median over them")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: make test-packages", file=sys.stderr)
        return 2
    levels = [int(c) for c in args.connections.split(",")]
    png = PAYLOAD.read_bytes()
    png_280 = PAYLOAD_280.read_bytes()
    payloads = {  # name: (file, body, content type)
        "138² PNG": ("p138.json", json_data_url(png).encode(), "application/json"),
        "280² PNG": ("p280.json", json_data_url(png_280).encode(), "application/json"),
        "1024² JPEG": ("photo.jpg", photo_jpeg(png), "image/jpeg"),
    }

    with tempfile.TemporaryDirectory(prefix="mnist-bench-") as tmp:
        work = Path(tmp)
        scripts = {}
        for name, (file, body, content_type) in payloads.items():
            (work / file).write_bytes(body)
            scripts[name] = work / f"{file}.lua"
            scripts[name].write_text(WRK_SCRIPT.format(content_type=content_type,
                                                       body_path=work / file))
        naive_body = "data:image/png;base64," + base64.b64encode(png_280).decode()
        (work / "naive.txt").write_text(naive_body)
        scripts["naive"] = work / "naive.lua"
        scripts["naive"].write_text(WRK_SCRIPT.format(content_type="text/plain",
                                                      body_path=work / "naive.txt"))
        print("payloads: " + ", ".join(f"{name} {len(body)} bytes"
                                       for name, (_, body, _) in payloads.items())
              + f"; naive: the 280² data URL; CPUs: {os.cpu_count()}; {args.rounds} rounds "
              f"of {args.duration} s (backend) and {args.naive_duration} s (naive) per level",
              flush=True)

        backend_port, naive_port = free_port(), free_port()
        backend = start_gunicorn(backend_port, workers=os.cpu_count() or 2,
                                 log_path=work / "gunicorn.log")
        naive_dir = work / "naive"
        naive_dir.mkdir()
        naive = subprocess.Popen(
            [str(DEV_PYTHON), str(REPO_ROOT / "benchmarks" / "naive_app.py"), str(naive_port),
             str(MODEL_DIR), str(naive_dir)],
            stdout=(work / "naive.log").open("wb"), stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, start_new_session=True)
        try:
            wait_for_http(f"http://127.0.0.1:{backend_port}/ready", process=backend)
            wait_for_http(f"http://127.0.0.1:{naive_port}/predict/", timeout=120,
                          process=naive, status=500)  # GET without a body fails, as it did
            backend_url = f"http://127.0.0.1:{backend_port}/predict"
            servers = {name: (backend_url, scripts[name], args.duration) for name in payloads}
            servers["naive"] = (f"http://127.0.0.1:{naive_port}/predict/", scripts["naive"],
                                args.naive_duration)
            for url, script, _ in servers.values():
                run_wrk(url, script, 2, 2)  # warm-up
            raw: dict[str, dict[int, list]] = {name: {c: [] for c in levels} for name in servers}
            for round_number in range(1, args.rounds + 1):
                for connections in levels:
                    # Every payload and server at each level back to back: drift hits all alike.
                    for name, (url, script, duration) in servers.items():
                        row = run_wrk(url, script, connections, duration)
                        raw[name][connections].append(row)
                        print(f"round {round_number} {name:10} c={connections:<3} "
                              f"{row['rps']:8.1f} req/s  p50 {row['p50_ms']:8.2f} ms  "
                              f"p99 {row['p99_ms']:8.2f} ms  errors {row['errors']}", flush=True)
            results = {name: [median_row(raw[name][c]) for c in levels] for name in servers}
            rss = worker_memory_mb(backend.pid)
        finally:
            stop(backend)
            stop(naive)
            time.sleep(0.2)
    results["worker_rss_mb"] = rss
    report(results, levels)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def report(results: dict, levels: list[int]) -> None:
    rows = {name: {row["connections"]: row for row in results[name]}
            for name in results if name != "worker_rss_mb"}
    rounds = results["naive"][0]["rounds"]
    print(f"\nmedians over {rounds} rounds (req/s, p50 ms, p99 ms)")
    print("connections | " + " | ".join(f"{name:^26}" for name in rows))
    for c in levels:
        print(f"{c:11} | " + " | ".join(
            f"{r[c]['rps']:8.1f} {r[c]['p50_ms']:7.2f} {r[c]['p99_ms']:8.2f}"
            for r in rows.values()))
    errors = sum(row["errors"] for name, r in rows.items() if name != "naive" for row in r.values())
    print(f"backend errors: {errors}; naive errors: "
          f"{sum(row['errors'] for row in rows['naive'].values())}")
    print("backend worker RSS (MB): " + ", ".join(f"{s:.0f}" for s in results["worker_rss_mb"]))
    checks = {}
    for c in levels:
        ratio = rows["280² PNG"][c]["rps"] / rows["138² PNG"][c]["rps"]
        speedup = rows["280² PNG"][c]["rps"] / rows["naive"][c]["rps"]
        print(f"c={c}: 280² / 138² throughput {100 * ratio:.0f} %; "
              f"280² backend / naive {speedup:.0f}x; 1024² JPEG / 138² "
              f"{100 * rows['1024² JPEG'][c]['rps'] / rows['138² PNG'][c]['rps']:.0f} %")
        if c == 4:
            checks["280² throughput >= 85 % of 138² at 4 connections"] = \
                ratio >= TARGETS["ratio_280_to_138"]
            checks[">= 50x the naive app with the 280² payload at 4 connections"] = \
                speedup >= TARGETS["speedup_280_at_4"]
    checks["0 backend errors"] = errors == 0
    checks["worker RSS <= 150 MB"] = max(results["worker_rss_mb"]) <= TARGETS["rss_mb"]
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")


if __name__ == "__main__":
    sys.exit(main())
