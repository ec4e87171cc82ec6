"""Promote and roll back under load: wrk at 16 connections posts canvas digits to gunicorn
while the registry's candidate is promoted, then rolled back; every request must succeed.

    python -m benchmarks.rollout [--duration 20] [--connections 16]

Prints wrk's totals (requests, failed requests: non-2xx answers and socket errors), how long
each registry change took to be served, and which versions a sampling client saw.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from backend import versions
from backend.registry import Registry, open_store, write_registry
from benchmarks.load import PAYLOAD, WRK_SCRIPT, json_data_url, run_wrk
from tests.servers import REPO_ROOT, fetch, free_port, start_gunicorn, stop, wait_for_http

CANDIDATE_COPY = "0123456789abcdef"


def bench_registry(work: Path) -> tuple[Path, str, str]:
    """A registry of two versions: the repository's production and another one (a real
    second version if the repository has one, else a copy under another hash)."""
    source = open_store(REPO_ROOT / "models")
    registry = source.registry
    models = work / "models"
    others = [v for v in source.available() if v != registry.production]
    candidate = others[-1] if others else CANDIDATE_COPY
    for version in {registry.production, *others[-1:]}:
        shutil.copytree(source.version_dir(version), models / registry.model / version)
    if not others:
        target = models / registry.model / candidate
        shutil.copytree(source.version_dir(registry.production), target)
        metadata = json.loads((target / "metadata.json").read_text())
        (target / "metadata.json").write_text(json.dumps({**metadata, "version": candidate}))
    write_registry(models, Registry(registry.model, registry.production, candidate, 0.1))
    return models, registry.production, candidate


def served_production(base: str) -> str:
    body = json.loads(fetch(f"{base}/models")[2])
    return next(v["version"] for v in body["versions"] if v["role"] == "production")


def change_and_wait(base: str, models: Path, command: list[str], expected: str) -> float:
    started = time.perf_counter()
    assert versions.main(["--models", str(models), *command]) == 0
    while served_production(base) != expected:
        time.sleep(0.05)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: make test-packages", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mnist-rollout-") as tmp:
        work = Path(tmp)
        models, production, candidate = bench_registry(work)
        body = json_data_url(PAYLOAD.read_bytes()).encode()
        (work / "body.json").write_bytes(body)
        script = work / "post.lua"
        script.write_text(WRK_SCRIPT.format(content_type="application/json",
                                            body_path=work / "body.json"))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(port, workers=2, log_path=work / "gunicorn.log",
                                env={"MODEL_DIR": str(models), "REGISTRY_POLL_SECONDS": "1"})
        seen: dict[str, int] = {}
        failures: list[int] = []
        done = threading.Event()

        def sample() -> None:  # one more client, reading which version answered
            while not done.is_set():
                status, _, answer = fetch(f"{base}/predict", data=body,
                                          headers={"Content-Type": "application/json"})
                if status == 200:
                    version = json.loads(answer)["model"]["version"]
                    seen[version] = seen.get(version, 0) + 1
                else:
                    failures.append(status)
                time.sleep(0.02)

        try:
            wait_for_http(f"{base}/ready", process=server)
            result: dict = {}
            load = threading.Thread(target=lambda: result.update(
                run_wrk(f"{base}/predict", script, args.connections, args.duration)))
            sampler = threading.Thread(target=sample)
            load.start()
            sampler.start()
            time.sleep(args.duration * 0.25)
            promote = change_and_wait(base, models, ["promote", "--force"], candidate)
            time.sleep(args.duration * 0.25)
            rollback = change_and_wait(base, models, ["rollback"], production)
            load.join()
            done.set()
            sampler.join()
        finally:
            stop(server)
    print(f"wrk: {args.connections} connections, {args.duration} s: {result['requests']} "
          f"requests, {result['rps']:.0f} req/s, p99 {result['p99_ms']:.1f} ms, "
          f"failed {result['errors']}")
    print(f"promote {production} -> {candidate}: served after {promote:.2f} s; "
          f"rollback: served after {rollback:.2f} s")
    print(f"sampling client: {sum(seen.values())} answers, by version {seen}, "
          f"failed {len(failures)}")
    ok = result["errors"] == 0 and not failures and len(seen) == 2
    print("PASS" if ok else "FAIL", "(target: 0 failed requests, both versions served)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
