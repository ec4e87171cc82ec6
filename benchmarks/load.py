"""Load benchmark: the real backend (gunicorn + LiteRT) beside the tutorial's app, in one run.

Both get the same canvas drawing (the PNG the page posts for a drawn digit) from wrk at
1, 4 and 16 connections; the script prints p50/p99 latency, req/s and errors for each, the
backend workers' RSS, the speed-up, and whether the targets are met:
p50 <= 2.0 ms at 1 connection, >= 1000 req/s at 4, >= 40x the naive app's req/s, 0 errors,
worker RSS <= 150 MB.

    make bench                      # or: .venv/bin/python benchmarks/load.py [--duration 10]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import (
    REPO_ROOT,
    free_port,
    start_gunicorn,
    stop,
    wait_for_http,
)

MODEL_DIR = REPO_ROOT / "models" / "cnn-mnist"
# What the page really posts: Chromium's PNG of the drawing pad (276x276 CSS px inside its
# border) after a mouse traced MNIST test digit 0 (a 7) on it; captured from the running app.
PAYLOAD = Path(__file__).resolve().parent / "canvas-digit.png"
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
TARGETS = {"p50_ms_at_1": 2.0, "rps_at_4": 1000.0, "speedup_at_4": 40.0, "rss_mb": 150.0}


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


def worker_rss_mb(master_pid: int) -> list[float]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


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
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()

    with tempfile.TemporaryDirectory(prefix="mnist-bench-") as tmp:
        work = Path(tmp)
        (work / "backend.json").write_text(json.dumps({"image": data_url}))
        (work / "naive.txt").write_text(data_url)
        for name, body, content_type in (("backend", "backend.json", "application/json"),
                                         ("naive", "naive.txt", "text/plain")):
            (work / f"{name}.lua").write_text(WRK_SCRIPT.format(
                content_type=content_type, body_path=work / body))
        print(f"payload: {PAYLOAD.name} (the page's PNG of a drawn 7), {len(png)} bytes; "
              f"CPUs: {os.cpu_count()}; {args.rounds} rounds of {args.duration} s (backend) "
              f"and {args.naive_duration} s (naive) per level", flush=True)

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
            servers = {
                "backend": (f"http://127.0.0.1:{backend_port}/predict", work / "backend.lua",
                            args.duration),
                "naive": (f"http://127.0.0.1:{naive_port}/predict/", work / "naive.lua",
                          args.naive_duration),
            }
            for url, script, _ in servers.values():
                run_wrk(url, script, 2, 2)  # warm-up
            raw: dict[str, dict[int, list]] = {name: {c: [] for c in levels} for name in servers}
            for round_number in range(1, args.rounds + 1):
                for connections in levels:
                    # Both servers at each level back to back, so drift hits both alike.
                    for name, (url, script, duration) in servers.items():
                        row = run_wrk(url, script, connections, duration)
                        raw[name][connections].append(row)
                        print(f"round {round_number} {name:8} c={connections:<3} "
                              f"{row['rps']:8.1f} req/s  p50 {row['p50_ms']:8.2f} ms  "
                              f"p99 {row['p99_ms']:8.2f} ms  errors {row['errors']}", flush=True)
            results = {name: [median_row(raw[name][c]) for c in levels] for name in servers}
            rss = worker_rss_mb(backend.pid)
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
    backend = {row["connections"]: row for row in results["backend"]}
    naive = {row["connections"]: row for row in results["naive"]}
    rounds = results["backend"][0]["rounds"]
    print(f"\nmedians over {rounds} rounds")
    print("connections | backend req/s | p50 ms | p99 ms | naive req/s | p50 ms | p99 ms | x")
    for c in levels:
        b, n = backend[c], naive[c]
        print(f"{c:11} | {b['rps']:13.1f} | {b['p50_ms']:6.2f} | {b['p99_ms']:6.2f} | "
              f"{n['rps']:11.1f} | {n['p50_ms']:6.1f} | {n['p99_ms']:6.1f} | "
              f"{b['rps'] / n['rps']:5.0f}")
    errors = sum(r["errors"] for r in results["backend"])
    print(f"backend errors: {errors}; naive errors: {sum(r['errors'] for r in results['naive'])}")
    print("backend worker RSS (MB): " + ", ".join(f"{s:.0f}" for s in results["worker_rss_mb"]))
    if 1 in backend and 4 in backend and 4 in naive:
        checks = {
            "p50 <= 2.0 ms at 1 connection": backend[1]["p50_ms"] <= TARGETS["p50_ms_at_1"],
            ">= 1000 req/s at 4 connections": backend[4]["rps"] >= TARGETS["rps_at_4"],
            ">= 40x the naive app at 4 connections":
                backend[4]["rps"] >= TARGETS["speedup_at_4"] * naive[4]["rps"],
            "0 errors": errors == 0,
            "worker RSS <= 150 MB": max(results["worker_rss_mb"]) <= TARGETS["rss_mb"],
        }
        for name, ok in checks.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")


if __name__ == "__main__":
    sys.exit(main())
