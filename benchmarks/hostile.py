"""Hostile-mix benchmark: two attackers beside a legitimate client, against the real backend.

gunicorn (backend/gunicorn.conf.py, 2 sync workers) is started on 127.0.0.1. Two attacker
connections send, in turn, every small hostile request that used to take the service down
(tests/hostile.py: a JPEG scan bomb, a component bomb on both routes, 2048x2048 noise on both
routes, deeply nested JSON, made-up HTTP methods), while one legitimate client posts the
page's canvas digit as fast as it is answered. Printed: each hostile request's status and time,
the legitimate client's error count and p99, and each worker's peak RSS (VmHWM). Targets:
every hostile request answered (JSON 4xx/2xx) in <= 1 s; legitimate client 0 errors and
p99 <= 250 ms; worker peak RSS <= 150 MB.

    make bench-hostile          # or: .venv/bin/python -m benchmarks.hostile [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.hostile import as_json, deep_json, dot_grid_png, noise_png, scan_bomb_jpeg
from tests.servers import free_port, start_gunicorn, stop, wait_for_http, worker_memory_mb

PAYLOAD = Path(__file__).resolve().parent / "canvas-digit.png"
TARGETS = {"hostile_s": 1.0, "legit_p99_ms": 250.0, "rss_mb": 150.0}


def hostile_requests() -> list[tuple[str, str, str, bytes, str]]:
    """(name, method, path, body, content type) of every hostile class."""
    scan_bomb = scan_bomb_jpeg(side=2048, repeats=1500)
    dots, noise = dot_grid_png(), noise_png(side=2048, density=0.05)
    return [
        ("JPEG scan bomb (1,500 scans, 2048²)", "POST", "/predict", scan_bomb, "image/jpeg"),
        ("dot grid, digit route", "POST", "/predict", dots, "image/png"),
        ("dot grid, number route", "POST", "/predict/number", dots, "image/png"),
        ("2048² noise, digit route", "POST", "/predict", noise, "image/png"),
        ("2048² noise, number route", "POST", "/predict/number", noise, "image/png"),
        ("2048² noise as a JSON data URL", "POST", "/predict/number", as_json(noise),
         "application/json"),
        ("JSON nested 20,000 deep", "POST", "/predict", deep_json(), "application/json"),
        *[(f"made-up method MADEUP{i}", f"MADEUP{i}", "/predict", b"", "text/plain")
          for i in range(3)],
    ]


def send(connection: http.client.HTTPConnection, method: str, path: str, body: bytes,
         content_type: str) -> tuple[int, bool, float]:
    """One request on a kept-alive connection: (status, JSON body?, seconds)."""
    started = time.perf_counter()
    connection.request(method, path, body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    data = response.read()
    seconds = time.perf_counter() - started
    try:
        json.loads(data)
        is_json = True
    except ValueError:
        is_json = False
    if response.getheader("Connection", "").lower() == "close":
        connection.close()
    return response.status, is_json, seconds


def attacker(port: int, requests: list, rounds: int, results: list) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(rounds):
        for name, method, path, body, content_type in requests:
            try:
                status, is_json, seconds = send(connection, method, path, body, content_type)
            except (OSError, http.client.HTTPException) as error:
                status, is_json, seconds = 0, False, float("nan")
                connection.close()
                results.append((name, f"error {type(error).__name__}", False, seconds))
                continue
            results.append((name, status, is_json, seconds))


def legitimate(port: int, body: bytes, stop_event: threading.Event, results: dict) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop_event.is_set():
        try:
            status, _, seconds = send(connection, "POST", "/predict", body, "application/json")
            results["latencies"].append(seconds)
            if status != 200:
                results["errors"] += 1
        except (OSError, http.client.HTTPException):
            results["errors"] += 1
            connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each attacker sends the mix")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    requests = hostile_requests()
    legit_body = as_json(PAYLOAD.read_bytes())
    print(f"hostile mix: {len(requests)} requests x {args.rounds} rounds x 2 attackers; "
          f"sizes (bytes): " + ", ".join(f"{len(r[3])}" for r in requests[:7]), flush=True)
    with tempfile.TemporaryDirectory(prefix="mnist-hostile-") as tmp:
        port = free_port()
        backend = start_gunicorn(port, workers=2, log_path=Path(tmp) / "gunicorn.log")
        try:
            wait_for_http(f"http://127.0.0.1:{port}/ready", process=backend)
            stop_event = threading.Event()
            legit = {"latencies": [], "errors": 0}
            client = threading.Thread(target=legitimate,
                                      args=(port, legit_body, stop_event, legit))
            client.start()
            time.sleep(1.0)  # the legitimate client's baseline before the attack
            hostile: list[list] = [[], []]
            attackers = [threading.Thread(target=attacker, args=(port, requests, args.rounds, r))
                         for r in hostile]
            for thread in attackers:
                thread.start()
            for thread in attackers:
                thread.join()
            time.sleep(0.5)
            stop_event.set()
            client.join()
            rss = worker_memory_mb(backend.pid, "VmHWM")
            restarts = (Path(tmp) / "gunicorn.log").read_text().count("Booting worker")
        finally:
            stop(backend)
    results = report([r for rs in hostile for r in rs], legit, rss, restarts - 2)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(results["checks"].values()) else 1


def report(hostile: list, legit: dict, rss: list[float], restarts: int) -> dict:
    by_name: dict[str, list] = {}
    for name, status, is_json, seconds in hostile:
        by_name.setdefault(name, []).append((status, is_json, seconds))
    print(f"\n{'hostile request':40} | statuses | JSON | max s")
    worst = 0.0
    answered = True
    for name, rows in by_name.items():
        statuses = sorted({str(s) for s, _, _ in rows})
        all_json = all(j for _, j, _ in rows)
        slowest = max(t for _, _, t in rows)
        worst = max(worst, slowest)
        answered &= all_json and all(isinstance(s, int) and 200 <= s < 500 for s, _, _ in rows)
        print(f"{name:40} | {','.join(statuses):8} | {'yes' if all_json else 'NO':4} | "
              f"{slowest:.3f}")
    latencies = sorted(legit["latencies"])
    p99 = 1000 * latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    p50 = 1000 * statistics.median(latencies) if latencies else float("nan")
    print(f"\nlegitimate client: {len(latencies)} requests, {legit['errors']} errors, "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print("worker peak RSS (MB): " + ", ".join(f"{r:.0f}" for r in rss)
          + f"; workers restarted: {restarts}")
    checks = {
        "every hostile request answered with JSON 2xx/4xx": answered,
        "every hostile request <= 1 s": worst <= TARGETS["hostile_s"],
        "legitimate client 0 errors": legit["errors"] == 0,
        "legitimate client p99 <= 250 ms": p99 <= TARGETS["legit_p99_ms"],
        "worker peak RSS <= 150 MB": max(rss) <= TARGETS["rss_mb"],
        "no worker killed or restarted": restarts == 0,
    }
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    return {"hostile": by_name, "legit_p50_ms": p50, "legit_p99_ms": p99,
            "legit_requests": len(latencies), "legit_errors": legit["errors"],
            "worker_peak_rss_mb": rss, "worker_restarts": restarts, "checks": checks}


if __name__ == "__main__":
    sys.exit(main())
